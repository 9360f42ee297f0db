package embed_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/embed"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/partners"
	"github.com/payrecon/payrecon/shared/payouts"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var csrfRe = regexp.MustCompile(`name="csrf-token" content="([0-9a-f]{64})"`)

func TestEmbedSessions(t *testing.T) {
	env := testenv.New(t)
	srv := env.Server()
	pid, key := env.Partner("Acme")
	_, otherKey := env.Partner("Other")
	res := testenv.Do(t, "POST", srv.URL+"/v1/companies", key, map[string]any{"external_id": "c1", "name": "Cafe One"})
	var co struct{ ID string }
	res.JSON(t, &co)
	create := func(t *testing.T, key string, body any) testenv.Response {
		return testenv.Do(t, "POST", srv.URL+"/v1/companies/"+co.ID+"/embed-sessions", key, body)
	}

	t.Run("bad input and other partners' companies", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			key    string
			body   any
			status int
		}{
			{"no components", key, map[string]any{"components": []string{}}, 422},
			{"unknown component", key, map[string]any{"components": []string{"admin"}}, 422},
			{"bad locale", key, map[string]any{"components": []string{"payouts"}, "locale": "en_US<script>"}, 422},
			{"another partner's company", otherKey, map[string]any{"components": []string{"payouts"}}, 404},
			{"no key", "", map[string]any{"components": []string{"payouts"}}, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if res := create(t, tc.key, tc.body); res.Status != tc.status {
					t.Fatalf("%d %s", res.Status, res.Body)
				}
			})
		}
	})

	t.Run("allowed origins are validated and become frame-ancestors", func(t *testing.T) {
		for _, bad := range []string{"http://app.example.com", "https://app.example.com/path", "javascript:alert(1)", "https://a b"} {
			if res := testenv.Do(t, "PUT", srv.URL+"/v1/embed-settings", key, map[string]any{"allowed_origins": []string{bad}}); res.Status != 422 {
				t.Errorf("%q: %d", bad, res.Status)
			}
		}
		res := testenv.Do(t, "PUT", srv.URL+"/v1/embed-settings", key, map[string]any{"allowed_origins": []string{"https://App.Example.com", "http://localhost:8080"}})
		if res.Status != 200 || !strings.Contains(string(res.Body), `["https://app.example.com","http://localhost:8080"]`) {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	var s embed.Created
	res = create(t, key, map[string]any{"components": []string{"payouts"}})
	if res.Status != 201 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	res.JSON(t, &s)
	if !strings.HasPrefix(s.URL, env.Cfg.PublicBaseURL+"/embed?token=emb_") || s.Locale != "en-US" || time.Until(s.ExpiresAt) > embed.TokenTTL || time.Until(s.ExpiresAt) < embed.TokenTTL-time.Minute {
		t.Fatalf("session %+v", s)
	}
	p := testenv.NewBrowser(t, srv.URL)
	u, _ := url.Parse(s.URL)

	t.Run("the token is exchanged once for an HttpOnly cookie", func(t *testing.T) {
		res, _ := p.Do("GET", u.RequestURI(), nil, "")
		c := res.Header.Get("Set-Cookie")
		if res.StatusCode != 303 || res.Header.Get("Location") != env.Cfg.PublicBaseURL+"/embed" || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "Path=/embed") {
			t.Fatalf("%d %v", res.StatusCode, res.Header)
		}
		again := testenv.NewBrowser(t, srv.URL)
		if res, body := again.Do("GET", u.RequestURI(), nil, ""); res.StatusCode != 401 || strings.Contains(body, "Cafe One") {
			t.Fatalf("reused token: %d %s", res.StatusCode, body)
		}
	})

	res2, html := p.Do("GET", "/embed", nil, "")
	t.Run("the page carries strict headers", func(t *testing.T) {
		h := res2.Header
		csp := h.Get("Content-Security-Policy")
		if res2.StatusCode != 200 || !strings.Contains(html, "Cafe One") || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "frame-ancestors https://app.example.com http://localhost:8080") {
			t.Fatalf("%d %v", res2.StatusCode, h)
		}
		if strings.Contains(html, "<script>") || strings.Contains(html, "https://") {
			t.Fatal("inline script or a third-party host in the page")
		}
	})
	m := csrfRe.FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no CSRF token in the page")
	}

	t.Run("writes need the CSRF token; components bound the session", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path string
			hdr                map[string]string
			status             int
		}{
			{"read in scope", "GET", "/embed/api/payouts", nil, 200},
			{"read out of scope", "GET", "/embed/api/connections", nil, 403},
			{"write without CSRF", "POST", "/embed/api/matches", nil, 403},
			{"write with a wrong CSRF", "POST", "/embed/api/matches", map[string]string{"X-CSRF-Token": strings.Repeat("0", 64)}, 403},
			{"write from another origin", "POST", "/embed/api/matches", map[string]string{"X-CSRF-Token": m[1], "Origin": "https://evil.example"}, 403},
			{"write with CSRF, out of scope", "DELETE", "/embed/api/connections/stripe", map[string]string{"X-CSRF-Token": m[1]}, 403},
			{"create a Stripe account, out of scope", "POST", "/embed/api/stripe/onboarding", map[string]string{"X-CSRF-Token": m[1]}, 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if res, body := p.Do(tc.method, tc.path, tc.hdr, `{}`); res.StatusCode != tc.status {
					t.Fatalf("%d %s", res.StatusCode, body)
				}
			})
		}
		anon := testenv.NewBrowser(t, srv.URL)
		if res, body := anon.Do("GET", "/embed/api/payouts", nil, ""); res.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) {
			t.Fatalf("no session: %d %s", res.StatusCode, body)
		}
	})

	t.Run("a payout's detail is one page of items and the totals stored on it", func(t *testing.T) {
		ps := stores.Payouts(env.Env)
		// 250 items: three pages of 100; every charge has a fee.
		items := make([]payouts.Item, 250)
		var amount int64
		for i := range items {
			items[i] = payouts.Item{SourceID: fmt.Sprintf("txn_%03d", i), Type: payouts.ItemCharge, Amount: 1000, Fee: 59, Net: 941}
			if i%50 == 0 {
				items[i] = payouts.Item{SourceID: fmt.Sprintf("txn_%03d", i), Type: payouts.ItemRefund, Amount: -500, Net: -500}
			}
			amount += items[i].Net
		}
		for _, id := range []string{"po_stored", "po_legacy"} {
			if err := ps.Upsert(t.Context(), payouts.Payout{PartnerID: pid, CompanyID: co.ID, ID: id, Provider: "stripe", AccountID: "acct_1", Amount: amount, Currency: "USD", Status: payouts.StatusPaid, ArrivalDate: "2026-11-20"}); err != nil {
				t.Fatal(err)
			}
		}
		po, _ := ps.Get(t.Context(), pid, co.ID, "po_stored")
		if st, err := ps.SetItems(t.Context(), po, items); err != nil || st != payouts.ItemisationComplete {
			t.Fatalf("%s %v", st, err)
		}
		// An itemisation resumed from a checkpoint written before totals were
		// kept (no totals in it) stores none.
		legacy, _ := ps.Get(t.Context(), pid, co.ID, "po_legacy")
		pr, err := ps.WriteItems(t.Context(), legacy, payouts.Progress{}, items[:100])
		if err != nil {
			t.Fatal(err)
		}
		pr.Totals = nil
		if pr, err = ps.WriteItems(t.Context(), legacy, pr, items[100:]); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.FinishItems(t.Context(), legacy, pr); err != nil {
			t.Fatal(err)
		}
		var d embed.PayoutDetail
		get := func(t *testing.T, path string) {
			t.Helper()
			res, body := p.Do("GET", path, nil, "")
			if res.StatusCode != 200 {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
			d = embed.PayoutDetail{}
			if err := json.Unmarshal([]byte(body), &d); err != nil {
				t.Fatal(err)
			}
		}
		get(t, "/embed/api/payouts/po_stored")
		want := []embed.Total{{Kind: "charge", Label: "Charges", Count: 245, Amount: 245000}, {Kind: "fees", Label: "Processing fees", Count: 245, Amount: -245 * 59}, {Kind: "refund", Label: "Refunds", Count: 5, Amount: -2500}}
		if len(d.Items) != embed.ItemsPage || d.NextCursor == "" || !d.TotalsKnown || !d.AddsUp || d.TotalNet != amount || fmt.Sprint(d.Totals) != fmt.Sprint(want) {
			t.Fatalf("first page: %d items, cursor %q, totals %+v net %d adds up %v", len(d.Items), d.NextCursor, d.Totals, d.TotalNet, d.AddsUp)
		}
		seen := len(d.Items)
		for d.NextCursor != "" {
			get(t, "/embed/api/payouts/po_stored?cursor="+url.QueryEscape(d.NextCursor))
			seen += len(d.Items)
		}
		if seen != 250 || d.Items[len(d.Items)-1].SourceID != "txn_249" {
			t.Fatalf("paged %d items", seen)
		}
		get(t, "/embed/api/payouts/po_legacy")
		if len(d.Items) != embed.ItemsPage || d.TotalsKnown || d.AddsUp || len(d.Totals) != 0 {
			t.Fatalf("no stored totals: %+v", d.Totals)
		}
		if res, body := p.Do("GET", "/embed/api/payouts/po_stored?cursor=garbage", nil, ""); res.StatusCode/100 != 4 {
			t.Fatalf("bad cursor: %d %s", res.StatusCode, body)
		}
	})

	t.Run("only the token's hash is stored", func(t *testing.T) {
		if strings.Contains(env.Logs.String(), s.Token) {
			t.Fatal("token in logs")
		}
		var fresh embed.Created
		create(t, key, map[string]any{"components": []string{"connect"}}).JSON(t, &fresh)
		var item map[string]any
		if err := env.Store.Get(t.Context(), "EMBEDTOKEN#"+partners.Hash(fresh.Token), "EMBEDTOKEN", &item); err != nil {
			t.Fatalf("no item under the token's hash: %v", err)
		}
		if strings.Contains(fmt.Sprint(item), fresh.Token) {
			t.Fatal("the token itself is stored")
		}
		if err := env.Store.Get(t.Context(), "EMBEDTOKEN#"+partners.Hash(s.Token), "EMBEDTOKEN", &item); err == nil {
			t.Fatal("a used token is still stored")
		}
	})
}
