package credentials_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/credentials"
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
		{"missing fields", "PUT", "stripe", key, `{}`, 422, "unprocessable_entity", []string{"secret_key", "client_id"}},
		{"bad formats", "PUT", "stripe", key, map[string]any{"secret_key": "pk_test_123456789", "client_id": "xx", "webhook_secret": "whsec_"}, 422, "unprocessable_entity", []string{"secret_key", "client_id", "webhook_secret"}},
		{"qualpay bad", "PUT", "qualpay", key, map[string]any{"security_key": "two words", "integrator_id": "abc", "webhook_secret": "tab\tinside", "environment": "moon", "webhook_username": "u"}, 422, "unprocessable_entity", []string{"security_key", "integrator_id", "webhook_secret", "environment", "webhook_username"}},
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

// TestWebhookSecretsAPI: the PUT's webhook_secret is the Connect endpoint's
// first secret; secrets are added per endpoint kind, listed masked with
// created_at, and removed; another partner sees none of them.
func TestWebhookSecretsAPI(t *testing.T) {
	env := testenv.New(t)
	pid, key := env.Partner("Acme")
	_, other := env.Partner("Other")
	srv := env.Server("credentials")
	base := srv.URL + "/v1/integrations/"
	if res := testenv.Do(t, "GET", base+"stripe/webhook-secrets", key, nil); res.Status != 404 {
		t.Fatalf("list before configuring = %d", res.Status)
	}
	if res := testenv.Do(t, "PUT", base+"stripe", key, stripeBody()); res.Status != 200 {
		t.Fatalf("PUT = %d %s", res.Status, res.Body)
	}
	type masked struct {
		ID, Kind, Last4 string
		CreatedAt       string `json:"created_at"`
	}
	list := func(t *testing.T, provider string) []masked {
		t.Helper()
		res := testenv.Do(t, "GET", base+provider+"/webhook-secrets", key, nil)
		var out struct{ Data []masked }
		res.JSON(t, &out)
		if res.Status != 200 || strings.Contains(string(res.Body), "whsec_") {
			t.Fatalf("list = %d %s", res.Status, res.Body)
		}
		return out.Data
	}
	got := list(t, "stripe")
	if len(got) != 1 || got[0].Kind != "connect" || got[0].Last4 != "5678" || got[0].CreatedAt == "" {
		t.Fatalf("after PUT: %+v", got)
	}
	// The status names the partner's own webhook URLs to register in Stripe.
	var st struct {
		WebhookURLs map[string]string `json:"webhook_urls"`
	}
	testenv.Do(t, "GET", base+"stripe", key, nil).JSON(t, &st)
	if st.WebhookURLs["connect"] != env.Cfg.PublicBaseURL+"/stripe/"+pid+"/connect" || st.WebhookURLs["platform"] != env.Cfg.PublicBaseURL+"/stripe/"+pid {
		t.Fatalf("webhook_urls = %v", st.WebhookURLs)
	}
	platform := "whsec_PlatformEndpointSecret0001"
	rolled := "whsec_x" // only the prefix is documented: a short secret is not an error
	for _, tc := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"platform secret", map[string]any{"secret": platform, "kind": "platform"}, 201},
		{"rolled connect secret (default kind)", map[string]any{"secret": rolled}, 201},
		{"not a signing secret", map[string]any{"secret": "sk_test_nope", "kind": "platform"}, 422},
		{"unknown kind", map[string]any{"secret": platform, "kind": "account"}, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := testenv.Do(t, "POST", base+"stripe/webhook-secrets", key, tc.body)
			if res.Status != tc.want || strings.Contains(string(res.Body), platform) {
				t.Fatalf("= %d %s", res.Status, res.Body)
			}
		})
	}
	keys, err := env.Credentials.StripeKeys(context.Background(), pid)
	if err != nil {
		t.Fatal(err)
	}
	if c := credentials.SecretsOf(keys.WebhookSecrets, "connect"); len(c) != 2 || c[0] != rolled || c[1] != whsec {
		t.Fatalf("connect secrets = %v", c)
	}
	if p := credentials.SecretsOf(keys.WebhookSecrets, "platform"); len(p) != 1 || p[0] != platform {
		t.Fatalf("platform secrets = %v", p)
	}
	// A second PUT with the same webhook_secret keeps the set as it is.
	if res := testenv.Do(t, "PUT", base+"stripe", key, stripeBody()); res.Status != 200 {
		t.Fatalf("PUT again = %d", res.Status)
	}
	got = list(t, "stripe")
	if len(got) != 3 {
		t.Fatalf("after second PUT: %+v", got)
	}
	if res := testenv.Do(t, "DELETE", base+"stripe/webhook-secrets/"+got[0].ID, other, nil); res.Status != 404 {
		t.Fatalf("other partner removed a secret: %d", res.Status)
	}
	var old string
	for _, m := range got {
		if m.Last4 == "5678" {
			old = m.ID
		}
	}
	if res := testenv.Do(t, "DELETE", base+"stripe/webhook-secrets/"+old, key, nil); res.Status != 204 {
		t.Fatalf("remove = %d %s", res.Status, res.Body)
	}
	if res := testenv.Do(t, "DELETE", base+"stripe/webhook-secrets/"+old, key, nil); res.Status != 404 {
		t.Fatalf("second remove = %d", res.Status)
	}
	if got := list(t, "stripe"); len(got) != 2 {
		t.Fatalf("after remove: %+v", got)
	}

	t.Run("qualpay: no webhook secret, then several, and Basic auth", func(t *testing.T) {
		res := testenv.Do(t, "PUT", base+"qualpay", key, map[string]any{"security_key": "k", "integrator_id": 301,
			"webhook_username": "payrecon", "webhook_password": "basic-pass-1"})
		if res.Status != 200 {
			t.Fatalf("PUT without webhook secret = %d %s", res.Status, res.Body)
		}
		for _, s := range []string{"qpSecretOfWebhookOne", "qpSecretOfWebhookTwo"} {
			if res := testenv.Do(t, "POST", base+"qualpay/webhook-secrets", key, map[string]any{"secret": s}); res.Status != 201 {
				t.Fatalf("add = %d %s", res.Status, res.Body)
			}
		}
		k, err := env.Credentials.QualpayKeys(context.Background(), pid)
		if err != nil || len(credentials.SecretsOf(k.WebhookSecrets, "webhook")) != 2 || k.WebhookUsername != "payrecon" {
			t.Fatalf("qualpay keys: %+v %v", len(k.WebhookSecrets), err)
		}
	})
}
