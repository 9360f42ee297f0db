package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/payrecon/payrecon/shared/local/localstack"
)

// runStack starts the emulators for a whole `make test` run and writes their
// endpoints as PAYRECON_TEST_* assignments, so test packages share one stack.
func runStack(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("stack", flag.ContinueOnError)
	envFile := fs.String("env", "", "file to write PAYRECON_TEST_* endpoints to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := localstack.Start(getenv)
	if err != nil {
		return err
	}
	content := fmt.Sprintf("PAYRECON_TEST_DYNAMODB=%s\nPAYRECON_TEST_SECRETS=%s\nPAYRECON_TEST_STRIPE=%s\n", s.DynamoURL, s.SecretsURL, s.StripeURL)
	if *envFile != "" {
		tmp := *envFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, *envFile); err != nil { // atomic: readers never see half a file
			return err
		}
	}
	fmt.Fprint(out, content)
	<-ctx.Done()
	return nil
}
