package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/demo"
	"github.com/payrecon/payrecon/shared/localstack"
	"github.com/payrecon/payrecon/shared/registry"
	"github.com/payrecon/payrecon/shared/store"
)

// localTable is the table name used by `make run` (DynamoDB Local runs in memory,
// so every run starts clean and re-running always works).
const localTable = "payrecon-local"

func runLocal(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	port := fs.Int("port", 3000, "port to serve the API on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stack, err := localstack.Start()
	if err != nil {
		return err
	}
	defer stack.Stop()

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	h, d, err := buildLocal(ctx, stack, base, getenv)
	if err != nil {
		ln.Close()
		return err
	}
	srv := newServer(h)
	fmt.Fprintf(out, `
payrecon is running locally on %s
  DynamoDB Local  %s   (table %s)
  Secrets Manager %s   (moto_server)
  Stripe API      %s   (stripe-mock)

Demo partner %s, API key (shown once):

  export PAYRECON_API_KEY=%s

  curl -s -H "Authorization: Bearer $PAYRECON_API_KEY" %s/v1/integrations/stripe
  demo company: %s (Stripe %s, Qualpay merchant %s)

Ctrl-C stops everything.
`, base, stack.DynamoURL, localTable, stack.SecretsURL, stack.StripeURL, d.PartnerID, d.APIKey, base, d.CompanyID, demo.StripeAccountID, demo.QualpayMerchantID)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(out, "\nstopping")
	return srv.Shutdown(shutdown)
}

// buildLocal creates the table, seeds the demo partner and mounts every route.
func buildLocal(ctx context.Context, stack *localstack.Stack, base string, getenv func(string) string) (http.Handler, demo.Demo, error) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		return nil, demo.Demo{}, err
	}
	vars := map[string]string{
		"STAGE": "local", "TABLE_NAME": localTable, "AWS_REGION": "us-east-1",
		"DYNAMODB_ENDPOINT": stack.DynamoURL, "SECRETSMANAGER_ENDPOINT": stack.SecretsURL,
		"STRIPE_API_URL": stack.StripeURL, "PUBLIC_BASE_URL": base,
	}
	cfg := app.ConfigFromEnv(func(k string) string {
		if v := getenv("PAYRECON_LOCAL_" + k); v != "" {
			return v
		}
		return vars[k]
	})
	log := app.NewLogger(os.Stderr, slog.LevelInfo)
	e, err := app.NewEnv(ctx, cfg, log)
	if err != nil {
		return nil, demo.Demo{}, err
	}
	if err := store.CreateTable(ctx, e.DB, filepath.Join(root, "template.yaml"), cfg.Table); err != nil {
		return nil, demo.Demo{}, err
	}
	mux := http.NewServeMux()
	for pattern, h := range localExtras(e) {
		mux.Handle(pattern, h)
	}
	routes, err := registry.Mount(e, filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, demo.Demo{}, err
	}
	mux.Handle("/", routes)
	d, err := demo.Seed(ctx, e)
	if err != nil {
		return nil, demo.Demo{}, fmt.Errorf("seed demo: %w", err)
	}
	return mux, d, nil
}

// localExtras are local-only stand-ins for things that live outside AWS
// (provider pages and APIs that have no local emulator). Empty until a feature needs one.
func localExtras(e *app.Env) map[string]http.Handler {
	return map[string]http.Handler{}
}

// newServer applies the limits API Gateway would: header size, a 29 s request timeout.
func newServer(h http.Handler) *http.Server {
	timeoutBody := `{"error":{"code":"unavailable","message":"request timed out"}}`
	return &http.Server{
		Handler:           http.TimeoutHandler(h, 29*time.Second, timeoutBody),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      35 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}
