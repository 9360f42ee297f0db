package qualpay_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/qualpay"
)

func TestRetries(t *testing.T) {
	ctx := context.Background()
	get := func(cl *qualpay.Client) error { _, err := cl.MerchantSettings(ctx, mid); return err }
	post := func(cl *qualpay.Client) error {
		_, err := cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: "RETRY1", FirstName: "R", LastName: "T"})
		return err
	}
	const getPath, postPath = "/platform/vendor/settings/", "/platform/vault/customer"
	tests := []struct {
		name       string
		fault      qualpayfake.Fault
		call       func(*qualpay.Client) error
		wantCalls  int
		wantCode   string // "" = success
		wantSleeps []time.Duration
		wantHint   int
	}{
		{name: "GET 500 twice then success", fault: qualpayfake.Fault{PathPrefix: getPath, Status: 500, Times: 2},
			call: get, wantCalls: 3, wantSleeps: []time.Duration{150 * time.Millisecond, 300 * time.Millisecond}},
		{name: "GET 503 until attempts run out", fault: qualpayfake.Fault{PathPrefix: getPath, Status: 503},
			call: get, wantCalls: 4, wantCode: apperr.BadGateway, wantHint: 3,
			wantSleeps: []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond}},
		{name: "429 honours Retry-After", fault: qualpayfake.Fault{PathPrefix: getPath, Status: 429, RetryAfter: "2", Times: 1},
			call: get, wantCalls: 2, wantSleeps: []time.Duration{2 * time.Second}},
		{name: "429 exhausted is rate limited with the hint", fault: qualpayfake.Fault{PathPrefix: getPath, Status: 429, RetryAfter: "1"},
			call: get, wantCalls: 4, wantCode: apperr.RateLimited, wantHint: 1,
			wantSleeps: []time.Duration{time.Second, time.Second, time.Second}},
		{name: "Retry-After beyond the cap fails fast", fault: qualpayfake.Fault{PathPrefix: getPath, Status: 503, RetryAfter: "120"},
			call: get, wantCalls: 1, wantCode: apperr.BadGateway, wantHint: 120},
		{name: "POST 503 is retried", fault: qualpayfake.Fault{PathPrefix: postPath, Method: "POST", Status: 503, Times: 1},
			call: post, wantCalls: 2, wantSleeps: []time.Duration{150 * time.Millisecond}},
		{name: "POST 500 is not retried (it may have happened)", fault: qualpayfake.Fault{PathPrefix: postPath, Method: "POST", Status: 500},
			call: post, wantCalls: 1, wantCode: apperr.BadGateway, wantHint: 3},
		{name: "POST 504 is not retried (a gateway may time out after the work)", fault: qualpayfake.Fault{PathPrefix: postPath, Method: "POST", Status: 504},
			call: post, wantCalls: 1, wantCode: apperr.BadGateway, wantHint: 3},
		{name: "400 is not retried", call: func(cl *qualpay.Client) error { _, err := cl.MerchantSettings(ctx, 424242); return err },
			wantCalls: 1, wantCode: apperr.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fk, cl, sl := setup(t)
			if tc.fault.Status != 0 {
				fk.InjectFault(tc.fault)
			}
			err := tc.call(cl)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else {
				ae := wantCode(t, err, tc.wantCode)
				if ae.RetryAfter != tc.wantHint {
					t.Errorf("RetryAfter = %d, want %d", ae.RetryAfter, tc.wantHint)
				}
			}
			if n := len(fk.Requests()); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d", n, tc.wantCalls)
			}
			if got := sl.all(); !equalDurations(got, tc.wantSleeps) {
				t.Errorf("sleeps = %v, want %v", got, tc.wantSleeps)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoffJitterBounds(t *testing.T) {
	for _, r := range []float64{0, 0.999} {
		fk, cl, sl := setup(t, func(c *qualpay.Config) { c.Rand = func() float64 { return r }; c.MaxAttempts = 6 })
		fk.InjectFault(qualpayfake.Fault{Status: 502})
		_, _ = cl.MerchantSettings(context.Background(), mid)
		for i, d := range sl.all() {
			step := min(qualpay.DefaultBaseBackoff<<i, qualpay.DefaultMaxBackoff)
			if d < step/2 || d > step {
				t.Errorf("rand %v: sleep %d = %v, want within [%v, %v]", r, i, d, step/2, step)
			}
		}
	}
}

func TestTimeoutsAreRetriedThenUpstreamError(t *testing.T) {
	fk, cl, sl := setup(t, func(c *qualpay.Config) {
		c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		c.MaxAttempts = 2
	})
	fk.InjectFault(qualpayfake.Fault{Delay: time.Second})
	_, err := cl.GetCustomer(context.Background(), mid, "SLOW1")
	ae := wantCode(t, err, apperr.BadGateway)
	if ae.RetryAfter <= 0 || len(sl.all()) != 1 {
		t.Errorf("hint %d, sleeps %v", ae.RetryAfter, sl.all())
	}
	if !strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), fk.URL) {
		t.Errorf("error text %q", err)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	fk, cl, _ := setup(t, func(c *qualpay.Config) {
		c.Sleep = func(ctx context.Context, d time.Duration) error { return context.Canceled }
	})
	fk.InjectFault(qualpayfake.Fault{Status: 503})
	_, err := cl.MerchantSettings(context.Background(), mid)
	if !errors.Is(err, context.Canceled) || len(fk.Requests()) != 1 {
		t.Fatalf("err = %v after %d calls", err, len(fk.Requests()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cl.MerchantSettings(ctx, mid); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: err = %v", err)
	}
}

func TestDeadlineTooShortForAnotherTry(t *testing.T) {
	fk, cl, sl := setup(t)
	fk.InjectFault(qualpayfake.Fault{Status: 503})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := cl.MerchantSettings(ctx, mid)
	wantCode(t, err, apperr.BadGateway)
	if len(sl.all()) != 0 || len(fk.Requests()) != 1 {
		t.Errorf("sleeps %v calls %d: should give up when the next wait passes the deadline", sl.all(), len(fk.Requests()))
	}
}

// TestErrorMapping covers statuses Qualpay documents but its OpenAPI file
// does not list (401, 403, 404, 409), so it uses a bare handler, not the fake.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantCode   string
		wantMsg    string
		wantFields []string
	}{
		{"404", 404, `{"code":404,"message":"Resource does not exist"}`, apperr.NotFound, "does not exist", nil},
		{"400 not found message", 400, `{"code":2,"message":"Customer ABC not found"}`, apperr.NotFound, "not found", nil},
		{"400 validation keeps Qualpay's message", 400, `{"code":2,"message":"Invalid exp_date"}`, apperr.Unprocessable, "Invalid exp_date", nil},
		{"400 validation details", 400, `{"code":2,"message":"Request Validation Failed","data":{"billing_zip":"is required"}}`, apperr.Unprocessable, "Validation", []string{"billing_zip"}},
		{"400 card in use by subscription", 400, `{"code":2,"message":"Card is being used by active subscriptions"}`, apperr.Conflict, "subscriptions", nil},
		{"409", 409, `{"code":7,"message":"Transaction already settled"}`, apperr.Conflict, "settled", nil},
		{"401 bad key is a configuration problem", 401, `{"code":11,"message":"Unauthorized"}`, apperr.Unprocessable, "credentials", nil},
		{"403 no access", 403, `{"code":12,"message":"No access"}`, apperr.Unprocessable, "credentials", nil},
		{"422 other 4xx", 422, `not json`, apperr.Unprocessable, "Unprocessable Entity", nil},
		{"200 with failure code", 200, `{"code":2,"message":"Invalid merchant_id"}`, apperr.Unprocessable, "Invalid merchant_id", nil},
		{"200 unparseable", 200, `{"code":0,"data":`, apperr.BadGateway, "unexpected", nil},
		{"504 after retries", 504, ``, apperr.BadGateway, "not responding", nil},
		{"message with a PAN is scrubbed", 400, `{"code":2,"message":"Invalid card 4111111111111111"}`, apperr.Unprocessable, "[card number removed]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			cl, err := qualpay.New(qualpay.Config{BaseURL: srv.URL, SecurityKey: "k3yk3yk3yk3yk3yk3y", HTTPClient: &http.Client{Timeout: time.Second},
				Sleep: func(context.Context, time.Duration) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.MerchantSettings(context.Background(), mid)
			ae := wantCode(t, err, tc.wantCode)
			if !strings.Contains(ae.Message, tc.wantMsg) {
				t.Errorf("message %q lacks %q", ae.Message, tc.wantMsg)
			}
			for _, f := range tc.wantFields {
				if _, ok := ae.Fields[f]; !ok {
					t.Errorf("fields %v lack %s", ae.Fields, f)
				}
			}
			if strings.Contains(err.Error(), "4111111111111111") {
				t.Errorf("PAN in error: %v", err)
			}
			var qe *qualpay.APIError
			if !errors.As(err, &qe) || qe.Op != "GET /platform/vendor/settings/{mid}" {
				t.Errorf("APIError op = %+v", qe)
			}
		})
	}
}

// TestNoCredentialLeak drives every error path and checks neither the key,
// its basic-auth encoding nor a request URL appears in error text.
func TestNoCredentialLeak(t *testing.T) {
	const key = "SuperSecretKey1234567890abcdef99"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A hostile or buggy upstream echoing the Authorization header back.
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"code":2,"message":"bad auth ` + r.Header.Get("Authorization") + ` for ` + key + `","data":{"key":"` + key + `"}}`))
	}))
	defer echo.Close()
	fk, _, _ := setup(t)
	fk.InjectFault(qualpayfake.Fault{Status: 503, Message: "down"})
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	secrets := []string{key, base64.StdEncoding.EncodeToString([]byte(key + ":"))}
	tests := []struct{ name, base string }{
		{"echoing upstream", echo.URL},
		{"upstream down", fk.URL},
		{"connection refused", closedURL},
		{"wrong key at the fake", fk.URL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := qualpay.New(qualpay.Config{BaseURL: tc.base, SecurityKey: key, HTTPClient: &http.Client{Timeout: time.Second},
				Sleep: func(context.Context, time.Duration) error { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.GetCustomer(context.Background(), mid, "LEAK1")
			if err == nil {
				t.Fatal("expected an error")
			}
			ae, _ := apperr.As(err)
			texts := []string{err.Error(), ae.Message}
			for _, v := range ae.Fields {
				texts = append(texts, v)
			}
			for _, txt := range texts {
				for _, s := range append(secrets, tc.base, "merchant_id=") {
					if strings.Contains(txt, s) {
						t.Errorf("error text %q contains %q", txt, s)
					}
				}
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	hc := &http.Client{Timeout: time.Second}
	tests := []struct {
		name    string
		cfg     qualpay.Config
		wantErr bool
	}{
		{"sandbox default", qualpay.Config{SecurityKey: "k", HTTPClient: hc}, false},
		{"production", qualpay.Config{Environment: "production", SecurityKey: "k", HTTPClient: hc}, false},
		{"unknown environment", qualpay.Config{Environment: "moon", SecurityKey: "k", HTTPClient: hc}, true},
		{"no http client", qualpay.Config{SecurityKey: "k"}, true},
		{"http client without timeout", qualpay.Config{SecurityKey: "k", HTTPClient: &http.Client{}}, true},
		{"no key", qualpay.Config{HTTPClient: hc}, true},
		{"base URL with credentials", qualpay.Config{BaseURL: "https://user:pw@example.com", SecurityKey: "k", HTTPClient: hc}, true},
		{"base URL with query", qualpay.Config{BaseURL: "https://example.com?key=x", SecurityKey: "k", HTTPClient: hc}, true},
		{"relative base URL", qualpay.Config{BaseURL: "/platform", SecurityKey: "k", HTTPClient: hc}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := qualpay.New(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("error echoes the URL: %v", err)
			}
		})
	}
	for env, want := range map[string]string{"sandbox": qualpay.SandboxBaseURL, "production": qualpay.ProductionBaseURL, "": qualpay.SandboxBaseURL} {
		if got, err := qualpay.BaseURLFor(env); err != nil || got != want {
			t.Errorf("BaseURLFor(%q) = %q, %v", env, got, err)
		}
	}
}

func TestSendsBasicAuthWithKeyAsUser(t *testing.T) {
	var user, pass string
	var ok bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok = r.BasicAuth()
		_, _ = w.Write([]byte(`{"code":0,"message":"Success","data":{"merchant_id":1}}`))
	}))
	defer srv.Close()
	cl, err := qualpay.New(qualpay.Config{BaseURL: srv.URL + "/", SecurityKey: "abc123", HTTPClient: &http.Client{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.MerchantSettings(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if !ok || user != "abc123" || pass != "" {
		t.Fatalf("basic auth = %q %q %v", user, pass, ok)
	}
}
