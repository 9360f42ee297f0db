package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/secrets"
)

func TestMain(m *testing.M) {
	code := m.Run()
	localstack.Running().Stop()
	os.Exit(code)
}

// recorder captures Errorf so the scan's verdict can be checked.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestSecretScanCatchesLeaks(t *testing.T) {
	tests := []struct {
		name string
		log  string
		leak bool
	}{
		{"clean", `{"msg":"configured stripe","last4":"MnOp"}`, false},
		{"stripe key", `{"msg":"sk_test_51AbCdEfGhIj"}`, true},
		{"webhook secret", `{"err":"bad whsec_abcdef123456"}`, true},
		{"test card", `{"body":"4242424242424242"}`, true},
		{"stored qualpay key", `{"msg":"key 3888ab7bba98452987cdf69ae917561a"}`, true},
	}
	env := New(t)
	if err := env.Secrets.Put(context.Background(), secrets.Name(env.Cfg.Stage, "ptr_x", "qualpay"),
		[]byte(`{"security_key":"3888ab7bba98452987cdf69ae917561a","environment":"sandbox"}`)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			probe := &Env{Env: env.Env, Stack: env.Stack, Logs: &SyncBuffer{}}
			_, _ = probe.Logs.Write([]byte(tc.log))
			r := &recorder{TB: t}
			probe.scanLogs(r)
			if got := len(r.errs) > 0; got != tc.leak {
				t.Fatalf("leak reported = %v (%v), want %v", got, r.errs, tc.leak)
			}
		})
	}
}
