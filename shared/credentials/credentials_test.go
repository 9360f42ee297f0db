package credentials_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/secrets"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	sk    = "sk_test_51AbCdEfGhIjKlMnOp"
	whsec = "whsec_abcdefgh12345678"
	caID  = "ca_1234567890abcdef"
	qpKey = "3888ab7bba98452987cdf69ae917561a"
)

func stripeBody() map[string]any {
	return map[string]any{"secret_key": sk, "client_id": caID, "webhook_secret": whsec}
}

func TestCredentialsLifecycle(t *testing.T) {
	env := testenv.New(t)
	pid, key := env.Partner("Acme")
	srv := env.Server("credentials")
	url := srv.URL + "/v1/integrations/stripe"

	res := testenv.Do(t, "PUT", url, key, stripeBody())
	if res.Status != 200 {
		t.Fatalf("PUT = %d %s", res.Status, res.Body)
	}
	var st map[string]any
	res.JSON(t, &st)
	for k, want := range map[string]any{"provider": "stripe", "configured": true, "livemode": false, "secret_key_last4": "MnOp", "client_id": caID} {
		if st[k] != want {
			t.Errorf("%s = %v, want %v", k, st[k], want)
		}
	}
	if strings.Contains(string(res.Body), sk) || strings.Contains(string(res.Body), whsec) {
		t.Fatal("response contains a secret")
	}
	// The secret is in Secrets Manager, not DynamoDB.
	raw, err := env.Secrets.Get(context.Background(), secrets.Name(env.Cfg.Stage, pid, "stripe"))
	if err != nil || !strings.Contains(string(raw), sk) {
		t.Fatalf("secret not stored: %v", err)
	}

	t.Run("put twice replaces", func(t *testing.T) {
		b := stripeBody()
		b["secret_key"] = "sk_test_51ZzZzZzZzZzZzZz9999"
		if res := testenv.Do(t, "PUT", url, key, b); res.Status != 200 {
			t.Fatalf("second PUT = %d", res.Status)
		}
		keys, err := env.Credentials.StripeKeys(context.Background(), pid)
		if err != nil || keys.SecretKey != "sk_test_51ZzZzZzZzZzZzZz9999" {
			t.Fatalf("not replaced: %v", err)
		}
	})
	t.Run("get is masked", func(t *testing.T) {
		res := testenv.Do(t, "GET", url, key, nil)
		if res.Status != 200 || strings.Contains(string(res.Body), "sk_test_") || !strings.Contains(string(res.Body), `"secret_key_last4":"9999"`) {
			t.Fatalf("GET = %d %s", res.Status, res.Body)
		}
	})
	t.Run("delete then 404", func(t *testing.T) {
		if res := testenv.Do(t, "DELETE", url, key, nil); res.Status != http.StatusNoContent {
			t.Fatalf("DELETE = %d %s", res.Status, res.Body)
		}
		if _, err := env.Secrets.Get(context.Background(), secrets.Name(env.Cfg.Stage, pid, "stripe")); err != secrets.ErrNotFound {
			t.Fatalf("secret still there: %v", err)
		}
		for _, m := range []string{"GET", "DELETE"} {
			if res := testenv.Do(t, m, url, key, nil); res.Status != 404 || res.ErrorCode() != "not_found" {
				t.Fatalf("%s after delete = %d %s", m, res.Status, res.Body)
			}
		}
	})
	if logs := env.Logs.String(); strings.Contains(logs, sk) || strings.Contains(logs, whsec) || strings.Contains(logs, key) {
		t.Fatal("a secret reached the logs")
	}
}

func TestCredentialsBadInput(t *testing.T) {
	env := testenv.New(t)
	_, key := env.Partner("Acme")
	srv := env.Server("credentials")
	base := srv.URL + "/v1/integrations/"
	tests := []struct {
		name, method, path, key string
		body                    any
		status                  int
		code                    string
		fields                  []string
	}{
		{"no key", "GET", "stripe", "", nil, 401, "unauthorized", nil},
		{"malformed key", "GET", "stripe", "nope", nil, 401, "unauthorized", nil},
		{"unknown key", "GET", "stripe", "pr_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, 401, "unauthorized", nil},
		{"unknown provider", "PUT", "paypal", key, stripeBody(), 404, "not_found", nil},
		{"malformed json", "PUT", "stripe", key, `{"secret_key":`, 400, "invalid_request", nil},
		{"missing fields", "PUT", "stripe", key, `{}`, 422, "unprocessable_entity", []string{"secret_key", "client_id", "webhook_secret"}},
		{"bad formats", "PUT", "stripe", key, map[string]any{"secret_key": "pk_test_123456789", "client_id": "xx", "webhook_secret": "whsec_"}, 422, "unprocessable_entity", []string{"secret_key", "client_id", "webhook_secret"}},
		{"qualpay bad", "PUT", "qualpay", key, map[string]any{"security_key": "short", "integrator_id": "abc", "webhook_secret": "x", "environment": "moon"}, 422, "unprocessable_entity", []string{"security_key", "integrator_id", "webhook_secret", "environment"}},
		{"too large", "PUT", "stripe", key, `{"secret_key":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "request_too_large", nil},
		{"wrong method", "POST", "stripe", key, stripeBody(), 405, "method_not_allowed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := testenv.Do(t, tc.method, base+tc.path, tc.key, tc.body)
			if res.Status != tc.status || res.ErrorCode() != tc.code {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
			for _, f := range tc.fields {
				if !strings.Contains(string(res.Body), `"`+f+`":`) {
					t.Errorf("error does not name field %s: %s", f, res.Body)
				}
			}
		})
	}
	// Nothing was configured by any of the bad requests.
	if res := testenv.Do(t, "GET", base+"stripe", key, nil); res.Status != 404 {
		t.Fatalf("bad input changed state: %d %s", res.Status, res.Body)
	}
}

func TestCredentialsQualpay(t *testing.T) {
	env := testenv.New(t)
	_, key := env.Partner("Acme")
	srv := env.Server("credentials")
	res := testenv.Do(t, "PUT", srv.URL+"/v1/integrations/qualpay", key, `{"security_key":"`+qpKey+`","integrator_id":301,"webhook_secret":"qpwebhooksecret1","environment":"sandbox"}`)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"secret_key_last4":"561a"`) || strings.Contains(string(res.Body), qpKey) {
		t.Fatalf("PUT qualpay = %d %s", res.Status, res.Body)
	}
}

func TestCredentialsTenantIsolation(t *testing.T) {
	env := testenv.New(t)
	_, keyA := env.Partner("A")
	_, keyB := env.Partner("B")
	srv := env.Server("credentials")
	url := srv.URL + "/v1/integrations/stripe"
	if res := testenv.Do(t, "PUT", url, keyA, stripeBody()); res.Status != 200 {
		t.Fatalf("PUT A = %d", res.Status)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if res := testenv.Do(t, m, url, keyB, nil); res.Status != 404 {
			t.Fatalf("B %s A's credentials = %d %s", m, res.Status, res.Body)
		}
	}
	if res := testenv.Do(t, "GET", url, keyA, nil); res.Status != 200 {
		t.Fatalf("A lost its credentials: %d", res.Status)
	}
}

func TestRevokedKey(t *testing.T) {
	env := testenv.New(t)
	pid, key := env.Partner("A")
	key2, k2, err := env.Partners.CreateKey(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	srv := env.Server("credentials")
	url := srv.URL + "/v1/integrations/stripe"
	for _, k := range []string{key, key2} { // two live keys during rotation
		if res := testenv.Do(t, "GET", url, k, nil); res.Status != 404 {
			t.Fatalf("live key rejected: %d", res.Status)
		}
	}
	if err := env.Partners.RevokeKey(context.Background(), pid, k2.ID); err != nil {
		t.Fatal(err)
	}
	if res := testenv.Do(t, "GET", url, key2, nil); res.Status != 401 {
		t.Fatalf("revoked key = %d", res.Status)
	}
}
