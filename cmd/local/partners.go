package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/payrecon/payrecon/shared/app"
)

func runPartners(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: partners create|keys|rotate|revoke")
	}
	fs := flag.NewFlagSet("partners "+args[0], flag.ContinueOnError)
	name := fs.String("name", "", "partner name (create)")
	live := fs.Bool("live", false, "live-mode partner: keys start pr_live_ (create)")
	partner := fs.String("partner", "", "partner ID")
	keyID := fs.String("key", "", "key ID (revoke)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg := app.ConfigFromEnv(getenv)
	if cfg.Table == "" {
		return fmt.Errorf("set TABLE_NAME (and DYNAMODB_ENDPOINT for a local table)")
	}
	e, err := app.NewEnv(ctx, cfg, app.NewLogger(io.Discard, slog.LevelError))
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		p, key, err := e.Partners.Create(ctx, *name, *live)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "partner %s (%s)\napi key (shown once, store it now): %s\n", p.ID, p.Name, key)
	case "rotate":
		key, k, err := e.Partners.CreateKey(ctx, *partner)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "new key %s (shown once): %s\nboth keys work until you revoke the old one\n", k.ID, key)
	case "revoke":
		if err := e.Partners.RevokeKey(ctx, *partner, *keyID); err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked %s\n", *keyID)
	case "keys":
		keys, err := e.Partners.Keys(ctx, *partner)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(keys)
	default:
		return fmt.Errorf("unknown partners command %q", args[0])
	}
	return nil
}
