package stripefake_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/payrecon/payrecon/shared/local/stripefake"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

const (
	key    = "sk_test_51FakeTestKey00001"
	client = "ca_FakeClient0001"
)

func newFake(t *testing.T, upstream string) (*stripefake.Fake, *stripeapi.Factory) {
	t.Helper()
	f, err := stripefake.New(stripefake.Options{APIUpstream: upstream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f, stripeapi.NewFactory(stripeapi.Config{APIURL: f.URL, ConnectURL: f.URL, HTTPClient: http.DefaultClient})
}

func token(sf *stripeapi.Factory, code string) (*stripe.OAuthToken, error) {
	return sf.Client(key).OAuth.New(&stripe.OAuthTokenParams{
		GrantType: stripe.String("authorization_code"), Code: stripe.String(code), ClientSecret: stripe.String(key)})
}

func oauthErr(t *testing.T, err error) string {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("not a stripe error: %v", err)
	}
	return se.OAuthError
}

func TestTokenExchange(t *testing.T) {
	f, sf := newFake(t, "")
	code, err := f.IssueCode(client, "acct_1FakeAccount0001")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token(sf, code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.StripeUserID != "acct_1FakeAccount0001" || tok.Livemode || tok.Scope != "read_write" {
		t.Fatalf("token = %+v", tok)
	}
	if !f.Connected(client, "acct_1FakeAccount0001") {
		t.Fatal("not connected after exchange")
	}
	if ex := f.Exchanges(); len(ex) != 1 || ex[0].SecretKey != key || ex[0].ClientID != client {
		t.Fatalf("exchanges = %+v", ex)
	}
	tests := []struct{ name, code, want string }{
		{"reused code", code, "invalid_grant"},
		{"unknown code", "ac_NeverIssued0000000000", "invalid_grant"},
		{"no code", "", "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := token(sf, tc.code)
			if got := oauthErr(t, err); got != tc.want {
				t.Fatalf("error = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("bad key", func(t *testing.T) {
		c, _ := f.IssueCode(client, "")
		_, err := sf.Client("nope").OAuth.New(&stripe.OAuthTokenParams{GrantType: stripe.String("authorization_code"), Code: stripe.String(c), ClientSecret: stripe.String("nope")})
		if got := oauthErr(t, err); got != "invalid_client" {
			t.Fatalf("error = %q", got)
		}
	})
	t.Run("bad grant type", func(t *testing.T) {
		c, _ := f.IssueCode(client, "")
		_, err := sf.Client(key).OAuth.New(&stripe.OAuthTokenParams{GrantType: stripe.String("refresh_token"), Code: stripe.String(c), ClientSecret: stripe.String(key)})
		if got := oauthErr(t, err); got != "unsupported_grant_type" {
			t.Fatalf("error = %q", got)
		}
	})
	t.Run("issue validates", func(t *testing.T) {
		if _, err := f.IssueCode("nope", ""); err == nil {
			t.Fatal("bad client id accepted")
		}
		if _, err := f.IssueCode(client, "cus_123"); err == nil {
			t.Fatal("bad account accepted")
		}
	})
}

func TestDeauthorize(t *testing.T) {
	f, sf := newFake(t, "")
	f.Connect(client, "acct_1FakeDeauth00001")
	del := func() error {
		_, err := sf.Client(key).OAuth.Del(&stripe.DeauthorizeParams{ClientID: stripe.String(client), StripeUserID: stripe.String("acct_1FakeDeauth00001")})
		return err
	}
	if err := del(); err != nil {
		t.Fatal(err)
	}
	if f.Connected(client, "acct_1FakeDeauth00001") || len(f.Deauthorizations()) != 1 {
		t.Fatal("not deauthorized")
	}
	err := del()
	var se *stripe.Error
	if !errors.As(err, &se) || se.OAuthError != "invalid_client" || !strings.Contains(se.OAuthErrorDescription, "not connected") || se.HTTPStatusCode != 401 {
		t.Fatalf("second deauthorize = %v", err)
	}
}

func TestUnreachableAndUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"` + strings.TrimPrefix(r.URL.Path, "/v1/accounts/") + `","object":"account"}`))
	}))
	defer up.Close()
	f, sf := newFake(t, up.URL)
	f.SetUnreachable("acct_1FakeNoAccess001")
	a, err := sf.Client(key).Accounts.GetByID("acct_1FakeProxied0001", nil)
	if err != nil || a.ID != "acct_1FakeProxied0001" {
		t.Fatalf("proxied = %+v %v", a, err)
	}
	_, err = sf.Client(key).Accounts.GetByID("acct_1FakeNoAccess001", nil)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 403 || se.Code != "account_invalid" || strings.Contains(se.Msg, key) {
		t.Fatalf("unreachable = %v", err)
	}
}
