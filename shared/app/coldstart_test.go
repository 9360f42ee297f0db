package app_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/registry"
)

// BenchmarkColdInit measures what each function's main does before lambda.Start:
// AWS config, clients and the handler (no network calls are made at init).
func BenchmarkColdInit(b *testing.B) {
	env := testenv.New(b)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for _, name := range registry.FunctionNames() {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := app.HTTPLambda(context.Background(), env.Getenv, registry.Functions[name], log); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
