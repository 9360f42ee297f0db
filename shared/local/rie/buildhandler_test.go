package rie_test

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/registry"
)

// BenchmarkBuildHandler measures the part of a cold start that is ours after
// the Env: building one HTTP function's handler (services, clients, routes)
// from a fresh Env, as app.ServeHTTPLambda does before lambda.Start. The Env is
// built with the timer stopped. Nothing is called: the endpoints are a closed
// port, as in BenchmarkColdStart. The README's "building each function's
// handlers" figures come from here (functions in shared/registry: the HTTP ones).
func BenchmarkBuildHandler(b *testing.B) {
	dead := "http://127.0.0.1:9"
	env := map[string]string{
		"STAGE": "bench", "TABLE_NAME": "payrecon-bench", "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"DYNAMODB_ENDPOINT": dead, "SECRETSMANAGER_ENDPOINT": dead, "SQS_ENDPOINT": dead,
		"WORK_QUEUE_URL": dead + "/q/work", "RECONCILE_QUEUE_URL": dead + "/q/reconcile", "PLAID_QUEUE_URL": dead + "/q/plaid",
		"SPLITS_QUEUE_URL": dead + "/q/splits", "NOTIFY_QUEUE_URL": dead + "/q/notify.fifo",
	}
	cfg := app.ConfigFromEnv(func(k string) string { return env[k] })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	names := make([]string, 0, len(registry.Functions))
	for name := range registry.Functions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		build := registry.Functions[name]
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e, err := app.NewEnv(context.Background(), cfg, log)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if build(e) == nil {
					b.Fatal("no handler")
				}
			}
		})
	}
}
