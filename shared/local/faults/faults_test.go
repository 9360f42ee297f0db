package faults_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/local/faults"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/secrets"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var stripeBody = map[string]any{"secret_key": "sk_test_51FaultyKey00001", "client_id": "ca_1234567890abcdef", "webhook_secret": "whsec_abcdefgh12345678"}

// TestCredentialsUnderFaults: each fault makes the request fail cleanly (a JSON
// 5xx without internals) or succeed through the SDK's retries; a retry after the
// fault leaves the same state as a fault-free run.
func TestCredentialsUnderFaults(t *testing.T) {
	tests := []struct {
		name       string
		rule       faults.Rule
		wantStatus int // status while the fault is active
	}{
		{"secret write fails", faults.Rule{Operation: "CreateSecret", Kind: faults.Internal, Times: -1}, 500},
		{"secret write times out", faults.Rule{Operation: "CreateSecret", Kind: faults.Timeout, Times: -1}, 500},
		{"status write fails after secret", faults.Rule{Operation: "PutItem", Kind: faults.Internal, Times: -1}, 500},
		{"status write throttled twice then retried by the SDK", faults.Rule{Operation: "PutItem", Kind: faults.Throttle, Times: 2}, 200},
		{"auth lookup throttled forever", faults.Rule{Operation: "GetItem", Kind: faults.Throttle, Times: -1}, 500},
		{"auth lookup internal once", faults.Rule{Operation: "GetItem", Kind: faults.Internal, Times: 1}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // most of the time is the SDK's retry backoff
			ft := faults.New(nil)
			env := testenv.New(t, func(c *app.Config) { c.AWSTransport = ft })
			pid, key := env.Partner("Acme")
			srv := env.Server("credentials")
			url := srv.URL + "/v1/integrations/stripe"

			ft.Add(tc.rule)
			res := testenv.Do(t, "PUT", url, key, stripeBody)
			injected := ft.Injected()
			ft.Clear()
			if res.Status != tc.wantStatus {
				t.Fatalf("under fault: %d %s (injected %v)", res.Status, res.Body, injected)
			}
			if len(injected) == 0 {
				t.Fatal("no fault was injected")
			}
			if res.Status >= 500 && (res.ErrorCode() != "internal_error" || strings.Contains(string(res.Body), "injected")) {
				t.Fatalf("5xx leaks details: %s", res.Body)
			}
			// The client retries; the end state equals a clean run.
			if res := testenv.Do(t, "PUT", url, key, stripeBody); res.Status != 200 {
				t.Fatalf("retry: %d %s", res.Status, res.Body)
			}
			if res := testenv.Do(t, "GET", url, key, nil); res.Status != 200 {
				t.Fatalf("GET after retry: %d %s", res.Status, res.Body)
			}
			raw, err := env.Secrets.Get(context.Background(), secrets.Name(env.Cfg.Stage, pid, "stripe"))
			if err != nil || !strings.Contains(string(raw), "sk_test_51FaultyKey00001") {
				t.Fatalf("secret after retry: %v", err)
			}
		})
	}
}

// TestNothingHalfWrittenOnSecretFailure: when the secret cannot be stored, no
// status claims the provider is configured.
func TestNothingHalfWrittenOnSecretFailure(t *testing.T) {
	ft := faults.New(nil)
	env := testenv.New(t, func(c *app.Config) { c.AWSTransport = ft })
	_, key := env.Partner("Acme")
	srv := env.Server("credentials")
	ft.Add(faults.Rule{Operation: "CreateSecret", Kind: faults.Internal, Times: -1})
	if res := testenv.Do(t, "PUT", srv.URL+"/v1/integrations/stripe", key, stripeBody); res.Status != 500 {
		t.Fatalf("PUT = %d", res.Status)
	}
	ft.Clear()
	if res := testenv.Do(t, "GET", srv.URL+"/v1/integrations/stripe", key, nil); res.Status != 404 {
		t.Fatalf("status written without a secret: %d %s", res.Status, res.Body)
	}
}
