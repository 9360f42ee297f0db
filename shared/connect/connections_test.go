package connect_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
)

func TestCompanies(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", false)
	_, keyB := w.partner("Other", false)
	base := w.srv.URL + "/v1/companies"

	res := testenv.Do(t, "POST", base, key, map[string]string{"external_id": "ext-1", "name": "Bakery"})
	if res.Status != 201 {
		t.Fatalf("create = %d %s", res.Status, res.Body)
	}
	var c map[string]any
	res.JSON(t, &c)
	id, _ := c["id"].(string)
	if !strings.HasPrefix(id, "co_") || c["external_id"] != "ext-1" || c["name"] != "Bakery" || c["created_at"] == nil {
		t.Fatalf("company = %v", c)
	}
	t.Run("same body again returns it", func(t *testing.T) {
		res := testenv.Do(t, "POST", base, key, map[string]string{"external_id": "ext-1", "name": "Bakery"})
		var again map[string]any
		res.JSON(t, &again)
		if res.Status != 200 || again["id"] != id {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	t.Run("different body same external_id conflicts", func(t *testing.T) {
		if res := testenv.Do(t, "POST", base, key, map[string]string{"external_id": "ext-1", "name": "Other"}); res.Status != 409 {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	t.Run("external_id is per partner", func(t *testing.T) {
		if res := testenv.Do(t, "POST", base, keyB, map[string]string{"external_id": "ext-1", "name": "Other"}); res.Status != 201 {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"missing fields", `{}`, 422},
		{"blank name", map[string]string{"external_id": "x", "name": "  "}, 422},
		{"long external_id", map[string]string{"external_id": strings.Repeat("x", 129), "name": "n"}, 422},
		{"wrong type", `{"external_id":5,"name":"n"}`, 422},
		{"malformed", `{"external_id":`, 400},
		{"no key", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := key
			if tc.body == nil {
				k = ""
			}
			if res := testenv.Do(t, "POST", base, k, tc.body); res.Status != tc.status {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
		})
	}
	t.Run("get", func(t *testing.T) {
		res := testenv.Do(t, "GET", base+"/"+id, key, nil)
		if res.Status != 200 || !strings.Contains(string(res.Body), id) {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
		for _, bad := range []string{"co_nope", "../x", "CO_" + id[3:], id + "x"} {
			if res := testenv.Do(t, "GET", base+"/"+url.PathEscape(bad), key, nil); res.Status != 404 {
				t.Errorf("%s = %d", bad, res.Status)
			}
		}
	})
	t.Run("list is paginated newest first", func(t *testing.T) {
		want := []string{id}
		for i := 2; i <= 5; i++ {
			time.Sleep(2 * time.Millisecond) // IDs sort by millisecond
			want = append([]string{w.company(key, fmt.Sprintf("ext-%d", i))}, want...)
		}
		var got []string
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			u := base + "?limit=2"
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			res := testenv.Do(t, "GET", u, key, nil)
			if res.Status != 200 {
				t.Fatalf("list = %d %s", res.Status, res.Body)
			}
			var p struct {
				Data       []struct{ ID string }
				NextCursor string `json:"next_cursor"`
			}
			res.JSON(t, &p)
			if len(p.Data) > 2 {
				t.Fatalf("page of %d", len(p.Data))
			}
			for _, c := range p.Data {
				got = append(got, c.ID)
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("list = %v\nwant %v", got, want)
		}
		// Another partner sees only its own, and cannot use A's cursor.
		res := testenv.Do(t, "GET", base+"?limit=1", key, nil)
		var p struct {
			NextCursor string `json:"next_cursor"`
		}
		res.JSON(t, &p)
		if res := testenv.Do(t, "GET", base+"?cursor="+url.QueryEscape(p.NextCursor), keyB, nil); res.Status != 400 {
			t.Fatalf("cross-partner cursor = %d %s", res.Status, res.Body)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=garbage"} {
			if res := testenv.Do(t, "GET", base+"?"+q, key, nil); res.Status != 400 {
				t.Errorf("%s = %d %s", q, res.Status, res.Body)
			}
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		if res := testenv.Do(t, "PUT", base+"/"+id, key, `{}`); res.Status != 405 {
			t.Fatalf("got %d", res.Status)
		}
	})
}

func TestLinkStripe(t *testing.T) {
	w := newWorld(t)
	pid, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	link := func(key, co string, body any) testenv.Response {
		return testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co+"/stripe/link", key, body)
	}
	const acct = "acct_1LinkedAccount01"
	res := link(key, co, map[string]string{"account_id": acct})
	if res.Status != 201 {
		t.Fatalf("link = %d %s", res.Status, res.Body)
	}
	var c map[string]any
	res.JSON(t, &c)
	for k, v := range map[string]any{"provider": "stripe", "account_id": acct, "method": "linked", "livemode": false, "company_id": co} {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if r, err := w.env.Companies.LookupRoute(context.Background(), "stripe", acct); err != nil || r.PartnerID != pid || r.CompanyID != co {
		t.Fatalf("route = %+v %v", r, err)
	}
	if res := link(key, co, map[string]string{"account_id": acct}); res.Status != 200 {
		t.Fatalf("same link again = %d %s", res.Status, res.Body)
	}
	if res := link(key, co, map[string]string{"account_id": "acct_1SomethingElse01"}); res.Status != 409 {
		t.Fatalf("second account for the company = %d %s", res.Status, res.Body)
	}
	// Linked once (the repeat and the refused link announce nothing).
	outboxtest.One(t, w.env.Store, pid, co, outbox.ConnectionCreated, acct, res.Body)
	outboxtest.Count(t, w.env.Store, pid, outbox.ConnectionCreated, "", 1)

	co2 := w.company(key, "c2")
	for _, bad := range []string{"", "acct_", "acct_12", "cus_1234567890", "ACCT_1234567890", "acct_123456789!", "acct_12345 6789", " acct_1234567890", "acct_" + strings.Repeat("a", 65)} {
		t.Run("malformed "+bad, func(t *testing.T) {
			res := link(key, co2, map[string]string{"account_id": bad})
			if res.Status != 422 || !strings.Contains(string(res.Body), `"account_id"`) {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
		})
	}
	t.Run("wrong type", func(t *testing.T) {
		if res := link(key, co2, `{"account_id":42}`); res.Status != 422 {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	t.Run("unreachable account", func(t *testing.T) {
		w.fake.SetUnreachable("acct_1NoAccessAtAll01")
		res := link(key, co2, map[string]string{"account_id": "acct_1NoAccessAtAll01"})
		body := string(res.Body)
		if res.Status != 422 || !strings.Contains(body, "account_invalid") || !strings.Contains(body, "does not have access") {
			t.Fatalf("got %d %s", res.Status, body)
		}
		if strings.Contains(body, "sk_test") || strings.Contains(body, sk[len(sk)-4:]) {
			t.Fatalf("Stripe's reason leaked the key: %s", body)
		}
		if conns := w.connections(key, co2); len(conns) != 0 {
			t.Fatalf("unreachable account linked: %v", conns)
		}
	})
	t.Run("stripe not configured", func(t *testing.T) {
		_, k := w.partner("NoStripe", false)
		c := w.company(k, "n1")
		if res := link(k, c, map[string]string{"account_id": acct}); res.Status != 422 || !strings.Contains(string(res.Body), "configure Stripe") {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	t.Run("link a second company by account ID", func(t *testing.T) {
		if res := link(key, co2, map[string]string{"account_id": "acct_1SecondCompany01"}); res.Status != 201 {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
}

func TestDisconnectStripe(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	ctx := context.Background()

	t.Run("oauth connection is deauthorized at Stripe", func(t *testing.T) {
		co := w.company(key, "oauth")
		const acct = "acct_1DisconnectOAuth"
		if loc := w.connectOAuth(key, co, acct); !strings.Contains(loc, "status=connected") {
			t.Fatalf("connect: %s", loc)
		}
		if !w.fake.Connected(caID, acct) {
			t.Fatal("fake does not see the authorization")
		}
		u := w.srv.URL + "/v1/companies/" + co + "/stripe"
		if res := testenv.Do(t, "DELETE", u, key, nil); res.Status != http.StatusNoContent {
			t.Fatalf("delete = %d %s", res.Status, res.Body)
		}
		d := w.fake.Deauthorizations()
		if len(d) != 1 || d[0].AccountID != acct || d[0].ClientID != caID || d[0].SecretKey != sk {
			t.Fatalf("deauthorizations = %+v", d)
		}
		if _, err := w.env.Companies.LookupRoute(ctx, "stripe", acct); err == nil {
			t.Fatal("route survived")
		}
		if conns := w.connections(key, co); len(conns) != 0 {
			t.Fatalf("connections = %v", conns)
		}
		if res := testenv.Do(t, "DELETE", u, key, nil); res.Status != 404 {
			t.Fatalf("second delete = %d %s", res.Status, res.Body)
		}
		if len(w.fake.Deauthorizations()) != 1 {
			t.Fatal("second delete called Stripe")
		}
		// Stripe then sends account.application.deauthorized: nothing left, no error.
		if err := connectfn.Service(w.env.Env).Deauthorized(ctx, acct); err != nil {
			t.Fatalf("Deauthorized after disconnect: %v", err)
		}
		// And the company can connect again.
		if loc := w.connectOAuth(key, co, acct); !strings.Contains(loc, "status=connected") {
			t.Fatalf("reconnect: %s", loc)
		}
	})
	t.Run("linked connection is not deauthorized", func(t *testing.T) {
		co := w.company(key, "linked")
		res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co+"/stripe/link", key, map[string]string{"account_id": "acct_1DisconnectLinkd"})
		if res.Status != 201 {
			t.Fatalf("link = %d %s", res.Status, res.Body)
		}
		before := len(w.fake.Deauthorizations())
		if res := testenv.Do(t, "DELETE", w.srv.URL+"/v1/companies/"+co+"/stripe", key, nil); res.Status != 204 {
			t.Fatalf("delete = %d %s", res.Status, res.Body)
		}
		if len(w.fake.Deauthorizations()) != before {
			t.Fatal("a linked account was deauthorized")
		}
	})
	t.Run("already revoked at Stripe still disconnects", func(t *testing.T) {
		co := w.company(key, "revoked")
		pid := partnerOf(t, w, key)
		if _, _, err := w.env.Companies.Connect(ctx, companies.Connection{PartnerID: pid, CompanyID: co, Provider: "stripe",
			AccountID: "acct_1RevokedByUser001", Method: "oauth", ConnectedAt: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
		if res := testenv.Do(t, "DELETE", w.srv.URL+"/v1/companies/"+co+"/stripe", key, nil); res.Status != 204 {
			t.Fatalf("delete = %d %s", res.Status, res.Body)
		}
	})
	t.Run("no connection", func(t *testing.T) {
		co := w.company(key, "none")
		if res := testenv.Do(t, "DELETE", w.srv.URL+"/v1/companies/"+co+"/stripe", key, nil); res.Status != 404 {
			t.Fatalf("delete = %d %s", res.Status, res.Body)
		}
	})
}

func partnerOf(t *testing.T, w *world, key string) string {
	t.Helper()
	pid, err := w.env.Partners.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestDeauthorizedWebhook(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	svc := connectfn.Service(w.env.Env)
	ctx := context.Background()
	t.Run("nothing connected is a no-op", func(t *testing.T) {
		for _, acct := range []string{"acct_1NeverConnected1", "", strings.Repeat("x", 200)} {
			if err := svc.Deauthorized(ctx, acct); err != nil {
				t.Fatalf("%q: %v", acct, err)
			}
		}
	})
	t.Run("removes a live connection", func(t *testing.T) {
		co := w.company(key, "c1")
		const acct = "acct_1WebhookRemoves1"
		if loc := w.connectOAuth(key, co, acct); !strings.Contains(loc, "status=connected") {
			t.Fatalf("connect: %s", loc)
		}
		if err := svc.Deauthorized(ctx, acct); err != nil {
			t.Fatal(err)
		}
		if conns := w.connections(key, co); len(conns) != 0 {
			t.Fatalf("connection survived: %v", conns)
		}
		if _, err := w.env.Companies.LookupRoute(ctx, "stripe", acct); err == nil {
			t.Fatal("route survived")
		}
		if err := svc.Deauthorized(ctx, acct); err != nil {
			t.Fatalf("second call: %v", err)
		}
		if res := testenv.Do(t, "DELETE", w.srv.URL+"/v1/companies/"+co+"/stripe", key, nil); res.Status != 404 {
			t.Fatalf("API delete after webhook = %d", res.Status)
		}
	})
}

// TestCrossPartner: partner B can neither see nor change partner A's companies.
func TestCrossPartner(t *testing.T) {
	w := newWorld(t)
	_, keyA := w.partner("A", true)
	_, keyB := w.partner("B", true)
	co := w.company(keyA, "a1")
	if res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co+"/stripe/link", keyA, map[string]string{"account_id": "acct_1CrossPartnerA01"}); res.Status != 201 {
		t.Fatalf("link = %d %s", res.Status, res.Body)
	}
	base := w.srv.URL + "/v1/companies/" + co
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "", nil},
		{"GET", "/connections", nil},
		{"POST", "/stripe/connect", map[string]string{"return_url": "https://partner.example/done"}},
		{"POST", "/stripe/link", map[string]string{"account_id": "acct_1CrossPartnerB01"}},
		{"DELETE", "/stripe", nil},
		{"POST", "/qualpay/link", map[string]any{"merchant_id": 212000000009}},
		{"DELETE", "/qualpay", nil},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			res := testenv.Do(t, tc.method, base+tc.path, keyB, tc.body)
			if res.Status != 404 || res.ErrorCode() != "not_found" {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
		})
	}
	if conns := w.connections(keyA, co); len(conns) != 1 || conns[0]["account_id"] != "acct_1CrossPartnerA01" {
		t.Fatalf("A's connection changed: %v", conns)
	}
	res := testenv.Do(t, "GET", w.srv.URL+"/v1/companies", keyB, nil)
	if res.Status != 200 || strings.Contains(string(res.Body), co) {
		t.Fatalf("B lists A's company: %s", res.Body)
	}
}

func TestStandInAuthorizePage(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	authz := w.start(key, co, "https://partner.example/done")
	q := authz.Query()
	si := w.standIn.URL + "/oauth/authorize"

	t.Run("deny returns access_denied to the partner", func(t *testing.T) {
		form := url.Values{"decision": {"deny"}, "client_id": {caID}, "redirect_uri": {q.Get("redirect_uri")}, "state": {q.Get("state")}}
		pg := browse(t, "POST", si, form)
		_, sq := mustQuery(t, pg.location)
		if pg.status != 302 || sq.Get("error") != "access_denied" || sq.Get("state") != q.Get("state") {
			t.Fatalf("deny = %d %s", pg.status, pg.location)
		}
		pg = browse(t, "GET", pg.location, nil)
		u, bq := mustQuery(t, pg.location)
		if pg.status != 302 || u.Host != "partner.example" || bq.Get("status") != "error" || bq.Get("reason") != "access_denied" {
			t.Fatalf("callback = %d %s", pg.status, pg.location)
		}
	})
	for _, tc := range []struct{ name, query string }{
		{"no response_type", "client_id=" + caID + "&state=s&redirect_uri=" + url.QueryEscape(q.Get("redirect_uri"))},
		{"non-local redirect", "response_type=code&client_id=" + caID + "&state=s&redirect_uri=" + url.QueryEscape("https://evil.example/cb")},
		{"no state", "response_type=code&client_id=" + caID + "&redirect_uri=" + url.QueryEscape(q.Get("redirect_uri"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if pg := browse(t, "GET", si+"?"+tc.query, nil); pg.status != 400 || pg.location != "" {
				t.Fatalf("got %d %s", pg.status, pg.location)
			}
		})
	}
	t.Run("approve to a non-local redirect is refused", func(t *testing.T) {
		form := url.Values{"decision": {"approve"}, "client_id": {caID}, "redirect_uri": {"https://evil.example/cb"}, "state": {"s"}}
		if pg := browse(t, "POST", si, form); pg.status != 400 || pg.location != "" {
			t.Fatalf("got %d %s", pg.status, pg.location)
		}
	})
}

// TestStripeOutages: a Stripe failure never half-completes anything.
func TestStripeOutages(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")

	t.Run("code exchange fails", func(t *testing.T) {
		w.fake.Fail("/oauth/token", 500, 1)
		_, q := mustQuery(t, w.connectOAuth(key, co, "acct_1OutageExchange1"))
		if q.Get("status") != "error" || q.Get("reason") != "stripe_unavailable" {
			t.Fatalf("got %v", q)
		}
		if conns := w.connections(key, co); len(conns) != 0 {
			t.Fatalf("connected during an outage: %v", conns)
		}
	})
	t.Run("deauthorize fails, connection kept for a retry", func(t *testing.T) {
		const acct = "acct_1OutageDeauth001"
		if loc := w.connectOAuth(key, co, acct); !strings.Contains(loc, "status=connected") {
			t.Fatalf("connect: %s", loc)
		}
		u := w.srv.URL + "/v1/companies/" + co + "/stripe"
		w.fake.Fail("/oauth/deauthorize", 500, 1)
		res := testenv.Do(t, "DELETE", u, key, nil)
		if res.Status != 502 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("delete during outage = %d %s", res.Status, res.Body)
		}
		if conns := w.connections(key, co); len(conns) != 1 {
			t.Fatalf("connection lost during outage: %v", conns)
		}
		if res := testenv.Do(t, "DELETE", u, key, nil); res.Status != 204 {
			t.Fatalf("retry = %d %s", res.Status, res.Body)
		}
		if w.fake.Connected(caID, acct) {
			t.Fatal("still authorized at Stripe")
		}
	})
	t.Run("account retrieval fails", func(t *testing.T) {
		co2 := w.company(key, "c2")
		w.fake.Fail("/v1/accounts/acct_1OutageRetrieve01", 503, 5)
		res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co2+"/stripe/link", key, map[string]string{"account_id": "acct_1OutageRetrieve01"})
		if res.Status != 502 {
			t.Fatalf("link during outage = %d %s", res.Status, res.Body)
		}
	})
}
