package connectfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, base, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m
}

func code(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// TestStripeBalanceRules: the fake refuses what Stripe refuses, and every
// object it answers matches Stripe's OpenAPI schema.
func TestStripeBalanceRules(t *testing.T) {
	path, err := StripeMockSpecPath()
	if err != nil {
		t.Skip(err)
	}
	spec, err := LoadSpec(path)
	if err != nil {
		t.Skipf("stripe-mock spec not downloaded: %v", err)
	}
	f, _ := New("http://127.0.0.1:1", spec, time.Now)
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.SetAccount(Account{ID: "acct_school", Country: "US", Transfers: true})
	f.SetAccount(Account{ID: "acct_nocap", Country: "US"})

	st, pi := post(t, srv.URL, "/v1/payment_intents", url.Values{"amount": {"10000"}, "currency": {"usd"}, "transfer_group": {"pint_1"}, "metadata[payrecon_intent]": {"pint_1"}})
	if st != 200 || pi["client_secret"] == "" {
		t.Fatalf("create PI: %d %v", st, pi)
	}
	if _, err := f.Pay(pi["id"].(string), "card"); err != nil {
		t.Fatal(err)
	}
	ch := f.intents[pi["id"].(string)].Charge

	tests := []struct {
		name string
		form url.Values
		code string // "" = accepted
	}{
		{"unknown parameter", url.Values{"amount": {"1"}, "currency": {"usd"}, "destination": {"acct_school"}, "bogus": {"1"}}, "parameter_unknown"},
		{"no source, platform available balance empty", url.Values{"amount": {"100"}, "currency": {"usd"}, "destination": {"acct_school"}}, "balance_insufficient"},
		{"destination cannot receive transfers", url.Values{"amount": {"100"}, "currency": {"usd"}, "destination": {"acct_nocap"}, "source_transaction": {ch}}, "insufficient_capabilities_for_transfer"},
		{"funded by the charge", url.Values{"amount": {"6000"}, "currency": {"usd"}, "destination": {"acct_school"}, "source_transaction": {ch}}, ""},
		{"past the charge's amount", url.Values{"amount": {"4001"}, "currency": {"usd"}, "destination": {"acct_school"}, "source_transaction": {ch}}, "?"},
		{"up to the charge's amount", url.Values{"amount": {"4000"}, "currency": {"usd"}, "destination": {"acct_school"}, "source_transaction": {ch}}, ""},
	}
	var tr string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := post(t, srv.URL, "/v1/transfers", tc.form)
			switch {
			case tc.code == "" && st != 200:
				t.Fatalf("refused: %d %v", st, m)
			case tc.code == "?" && st != 400:
				t.Fatalf("accepted: %d %v", st, m)
			case tc.code != "" && tc.code != "?" && code(m) != tc.code:
				t.Fatalf("%d %v, want %s", st, m, tc.code)
			}
			if st == 200 && tr == "" {
				tr = m["id"].(string)
			}
		})
	}
	if avail, _ := f.Balances("usd"); avail != 0 {
		t.Fatalf("platform available balance touched: %d", avail)
	}
	t.Run("reversal larger than the connected account's balance", func(t *testing.T) {
		f.SetAccountAvailable("acct_school", "usd", 500)
		if st, m := post(t, srv.URL, "/v1/transfers/"+tr+"/reversals", url.Values{"amount": {"600"}}); st != 400 || code(m) != "balance_insufficient" {
			t.Fatalf("%d %v", st, m)
		}
		if st, m := post(t, srv.URL, "/v1/transfers/"+tr+"/reversals", url.Values{"amount": {"500"}}); st != 200 || m["object"] != "transfer_reversal" {
			t.Fatalf("%d %v", st, m)
		}
		if avail, _ := f.Balances("usd"); avail != 500 {
			t.Fatalf("reversal credits the platform: %d", avail)
		}
	})
	if bad := f.Invalid(); len(bad) != 1 { // the unknown parameter above, and nothing the fake answered
		t.Fatalf("spec violations: %v", bad)
	}
}
