package connect_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// TestBrowserFlow is "Start Stripe Flow" as a browser does it, through every
// function mounted on template.yaml's routes and the local stand-in authorize page.
// PublicBaseURL is empty (newWorld), so redirect_uri is derived from the request host.
func TestBrowserFlow(t *testing.T) {
	w := newWorld(t)
	pid, key := w.partner("Acme", true)
	co := w.company(key, "bakery-1")

	res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co+"/stripe/connect", key, map[string]string{"return_url": "https://partner.example/done?session=42"})
	if res.Status != 201 {
		t.Fatalf("start = %d %s", res.Status, res.Body)
	}
	var started struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	res.JSON(t, &started)
	if d := started.ExpiresAt.Sub(w.clock.Now()); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("expires_at is %v from now, want 15 minutes", d)
	}

	// The answer is this service's start link; opening it binds the flow to the
	// browser with a cookie (HttpOnly, SameSite=Lax; Secure except on
	// http://localhost, which this test runs on) and redirects to Stripe.
	startU, sq := mustQuery(t, started.URL)
	if startU.Scheme+"://"+startU.Host+startU.Path != w.srv.URL+"/integrations/stripe/start" || len(sq) != 1 {
		t.Fatalf("start link = %s", started.URL)
	}
	hop := browse(t, "GET", started.URL, nil)
	if hop.status != http.StatusFound || len(hop.cookies) != 1 {
		t.Fatalf("start link = %d %v %s", hop.status, hop.cookies, hop.body)
	}
	if c := hop.cookies[0]; !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/integrations/stripe" ||
		c.MaxAge < 14*60 || c.MaxAge > 15*60 || strings.Contains(c.Value, sq.Get("state")) {
		t.Errorf("binding cookie = %+v", c)
	}
	if again := browseWith(t, nil, "GET", started.URL, nil); again.status != 400 || again.location != "" {
		t.Errorf("start link opened a second time = %d %s", again.status, again.location)
	}

	// Every query parameter of the authorize URL.
	authz, q := mustQuery(t, hop.location)
	if got := authz.Scheme + "://" + authz.Host + authz.Path; got != w.standIn.URL+"/oauth/authorize" {
		t.Errorf("authorize base = %s", got)
	}
	want := map[string]string{"response_type": "code", "client_id": caID, "scope": "read_write", "redirect_uri": w.srv.URL + "/integrations/stripe"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	state := q.Get("state")
	if raw, err := base64.RawURLEncoding.DecodeString(state); err != nil || len(raw) < 16 {
		t.Errorf("state %q is not >= 128 random bits", state)
	}
	if len(q) != 5 {
		t.Errorf("unexpected parameters: %v", q)
	}

	// The authorize page (local stand-in), clearly labelled.
	pg := browse(t, "GET", hop.location, nil)
	if pg.status != 200 || !strings.Contains(pg.body, "LOCAL STAND-IN — not Stripe") || !strings.HasPrefix(pg.ctype, "text/html") {
		t.Fatalf("authorize page = %d %s", pg.status, pg.body)
	}
	// Approve: the stand-in redirects to redirect_uri with a code and the state.
	form := url.Values{"decision": {"approve"}, "account_id": {"acct_1BrowserFlow0001"}, "client_id": {caID},
		"redirect_uri": {q.Get("redirect_uri")}, "state": {state}, "scope": {"read_write"}}
	pg = browse(t, "POST", w.standIn.URL+"/oauth/authorize", form)
	if pg.status != http.StatusFound {
		t.Fatalf("approve = %d %s", pg.status, pg.body)
	}
	cb, cbq := mustQuery(t, pg.location)
	if cb.Scheme+"://"+cb.Host+cb.Path != q.Get("redirect_uri") || cbq.Get("state") != state || !strings.HasPrefix(cbq.Get("code"), "ac_") {
		t.Fatalf("stand-in redirect = %s", pg.location)
	}
	// The OAuth redirect: 302 back to the partner.
	pg = browse(t, "GET", pg.location, nil)
	if pg.status != http.StatusFound {
		t.Fatalf("callback = %d %s", pg.status, pg.body)
	}
	back, bq := mustQuery(t, pg.location)
	if back.Host != "partner.example" || back.Path != "/done" || bq.Get("status") != "connected" || bq.Get("company_id") != co || bq.Get("session") != "42" {
		t.Fatalf("return redirect = %s", pg.location)
	}

	// The connection is visible.
	conns := w.connections(key, co)
	if len(conns) != 1 {
		t.Fatalf("connections = %v", conns)
	}
	for k, v := range map[string]any{"provider": "stripe", "account_id": "acct_1BrowserFlow0001", "method": "oauth", "livemode": false, "scope": "read_write", "company_id": co} {
		if conns[0][k] != v {
			t.Errorf("connection %s = %v, want %v", k, conns[0][k], v)
		}
	}
	// Routing for webhooks, and the code was exchanged with the partner's secret key.
	if r, err := w.env.Companies.LookupRoute(context.Background(), "stripe", "acct_1BrowserFlow0001"); err != nil || r.PartnerID != pid || r.CompanyID != co {
		t.Fatalf("route = %+v %v", r, err)
	}
	ex := w.fake.Exchanges()
	if len(ex) != 1 || ex[0].SecretKey != sk || ex[0].AccountID != "acct_1BrowserFlow0001" {
		t.Fatalf("exchanges = %+v", ex)
	}

	t.Run("replay is refused without a redirect", func(t *testing.T) {
		pg := browse(t, "GET", callbackURL(authz, cbq.Get("code")), nil)
		if pg.status != 400 || pg.location != "" || !strings.HasPrefix(pg.ctype, "text/html") {
			t.Fatalf("replay = %d %q %s", pg.status, pg.location, pg.body)
		}
		if len(w.fake.Exchanges()) != 1 {
			t.Fatal("replay reached Stripe")
		}
	})
	t.Run("no access token or state is kept", func(t *testing.T) {
		raw := dumpTable(t, w)
		if strings.Contains(raw, "sk_test_oauth") || strings.Contains(raw, "rt_") || strings.Contains(raw, state) || strings.Contains(raw, "OAUTHSTATE#") {
			t.Fatalf("table holds a token or the state: %s", raw)
		}
		logs := w.env.Logs.String()
		if strings.Contains(logs, sk) || strings.Contains(logs, "sk_test_oauth") || strings.Contains(logs, cbq.Get("code")) || strings.Contains(logs, key) {
			t.Fatal("a secret reached the logs")
		}
	})
}

// dumpTable returns every item of the test's table as text (small tables only).
func dumpTable(t *testing.T, w *world) string {
	t.Helper()
	var sb strings.Builder
	var start map[string]types.AttributeValue
	for {
		out, err := w.env.DB.Scan(context.Background(), scanInput(w.env.Cfg.Table, start))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			for k, v := range it {
				if s, ok := v.(*types.AttributeValueMemberS); ok {
					sb.WriteString(k + "=" + s.Value + "\n")
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return sb.String()
		}
		start = out.LastEvaluatedKey
	}
}

func TestRedirectURIFromConfig(t *testing.T) {
	w := newWorld(t, func(c *app.Config) { c.PublicBaseURL = "https://api.payrecon.example/" })
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co+"/stripe/connect", key, map[string]string{"return_url": "https://partner.example/done"})
	var out struct{ URL string }
	res.JSON(t, &out)
	const public = "https://api.payrecon.example/integrations/stripe/start?"
	if !strings.HasPrefix(out.URL, public) {
		t.Fatalf("start link = %s", out.URL)
	}
	// Served here under the test server's address instead of the public one.
	pg := browse(t, "GET", w.srv.URL+"/integrations/stripe/start?"+strings.TrimPrefix(out.URL, public), nil)
	authz, _ := mustQuery(t, pg.location)
	if got := authz.Query().Get("redirect_uri"); got != "https://api.payrecon.example/integrations/stripe" {
		t.Fatalf("redirect_uri = %s", got)
	}
	if len(pg.cookies) != 1 || !pg.cookies[0].Secure {
		t.Fatalf("binding cookie on an https deployment is not Secure: %+v", pg.cookies)
	}
}

func TestCallbackRefusesBadState(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	authz := w.start(key, co, "https://partner.example/done")
	good := authz.Query().Get("state")
	code, _ := w.fake.IssueCode(caID, "acct_1BadStateTest001")
	flip := []byte(good)
	if flip[10] == 'A' {
		flip[10] = 'B'
	} else {
		flip[10] = 'A'
	}
	cb := w.srv.URL + "/integrations/stripe"
	tests := []struct{ name, query string }{
		{"no state", "code=" + code},
		{"empty state", "code=" + code + "&state="},
		{"malformed state", "code=" + code + "&state=%3Cscript%3E"},
		{"tampered state", "code=" + code + "&state=" + string(flip)},
		{"unknown state", "code=" + code + "&state=" + strings.Repeat("A", 43)},
		{"oversized state", "code=" + code + "&state=" + strings.Repeat("A", 5000)},
		{"open redirect attempt", "code=" + code + "&state=" + string(flip) + "&return_url=https%3A%2F%2Fevil.example%2F&redirect_uri=https%3A%2F%2Fevil.example%2F"},
		{"error without state", "error=access_denied&error_description=denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pg := browse(t, "GET", cb+"?"+tc.query, nil)
			if pg.status != 400 || pg.location != "" || !strings.HasPrefix(pg.ctype, "text/html") || strings.Contains(pg.body, "evil.example") {
				t.Fatalf("got %d location=%q %s", pg.status, pg.location, pg.body)
			}
		})
	}
	if len(w.fake.Exchanges()) != 0 {
		t.Fatal("a refused callback reached Stripe")
	}
	// The good state was not consumed by any of the attempts.
	pg := browse(t, "GET", callbackURL(authz, code), nil)
	if _, q := mustQuery(t, pg.location); pg.status != 302 || q.Get("status") != "connected" {
		t.Fatalf("good state after attempts = %d %s", pg.status, pg.location)
	}
	t.Run("wrong method", func(t *testing.T) {
		if res := testenv.Do(t, "POST", cb, "", nil); res.Status != 405 {
			t.Fatalf("POST = %d", res.Status)
		}
	})
}

func TestCallbackErrors(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	tests := []struct {
		name   string
		query  func(authz *url.URL) url.Values
		reason string
	}{
		{"user denied", func(a *url.URL) url.Values {
			return url.Values{"state": {a.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"The user denied your request"}}
		}, "access_denied"},
		{"odd error code", func(a *url.URL) url.Values {
			return url.Values{"state": {a.Query().Get("state")}, "error": {"<b>x</b>"}}
		}, "oauth_error"},
		{"undocumented code of a harmless shape", func(a *url.URL) url.Values {
			return url.Values{"state": {a.Query().Get("state")}, "error": {"please_call_support_at_evil_example"}, "error_description": {"Call +1 555 0100"}}
		}, "oauth_error"},
		{"no code", func(a *url.URL) url.Values { return url.Values{"state": {a.Query().Get("state")}} }, "missing_code"},
		{"forged code", func(a *url.URL) url.Values {
			return url.Values{"state": {a.Query().Get("state")}, "code": {"ac_NotIssuedByStripe000000"}}
		}, "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			authz := w.start(key, co, "https://partner.example/done")
			pg := browse(t, "GET", authz.Query().Get("redirect_uri")+"?"+tc.query(authz).Encode(), nil)
			u, q := mustQuery(t, pg.location)
			if pg.status != 302 || u.Host != "partner.example" || q.Get("status") != "error" || q.Get("reason") != tc.reason {
				t.Fatalf("got %d %s", pg.status, pg.location)
			}
		})
	}
	if conns := w.connections(key, co); len(conns) != 0 {
		t.Fatalf("error paths connected something: %v", conns)
	}
}

func TestStateExpiry(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")

	t.Run("just before expiry works", func(t *testing.T) {
		authz := w.start(key, co, "https://partner.example/done")
		w.clock.Add(14*time.Minute + 50*time.Second)
		code, _ := w.fake.IssueCode(caID, "acct_1ExpiryOkay00001")
		pg := browse(t, "GET", callbackURL(authz, code), nil)
		if _, q := mustQuery(t, pg.location); pg.status != 302 || q.Get("status") != "connected" {
			t.Fatalf("got %d %s", pg.status, pg.location)
		}
	})
	if res := testenv.Do(t, "DELETE", w.srv.URL+"/v1/companies/"+co+"/stripe", key, nil); res.Status != 204 {
		t.Fatalf("disconnect = %d %s", res.Status, res.Body)
	}
	t.Run("after 15 minutes it is refused", func(t *testing.T) {
		authz := w.start(key, co, "https://partner.example/done")
		w.clock.Add(15*time.Minute + time.Second)
		code, _ := w.fake.IssueCode(caID, "acct_1ExpiryLate00001")
		before := len(w.fake.Exchanges())
		pg := browse(t, "GET", callbackURL(authz, code), nil)
		if pg.status != 400 || pg.location != "" || !strings.Contains(pg.body, "expired") {
			t.Fatalf("got %d %q %s", pg.status, pg.location, pg.body)
		}
		if len(w.fake.Exchanges()) != before {
			t.Fatal("an expired state reached Stripe")
		}
		// The expired state is gone: still refused even if the clock went back.
		w.clock.Add(-time.Hour)
		if pg := browse(t, "GET", callbackURL(authz, code), nil); pg.status != 400 {
			t.Fatalf("expired state reusable: %d", pg.status)
		}
	})
	// The stored item carries the DynamoDB TTL attribute at its expiry.
	w.start(key, co, "https://partner.example/done")
	checkStateTTL(t, w)
}

func checkStateTTL(t *testing.T, w *world) {
	t.Helper()
	out, err := w.env.DB.Scan(context.Background(), scanInput(w.env.Cfg.Table, nil))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range out.Items {
		pk, _ := it["pk"].(*types.AttributeValueMemberS)
		if pk == nil || !strings.HasPrefix(pk.Value, "OAUTHSTATE#") {
			continue
		}
		found = true
		if len(pk.Value) != len("OAUTHSTATE#")+64 {
			t.Errorf("state key is not a SHA-256: %s", pk.Value)
		}
		n, ok := it["ttl"].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("state without ttl: %v", it)
		}
		exp := w.clock.Now().Add(15 * time.Minute).Unix()
		if n.Value != itoa(exp) && n.Value != itoa(exp-1) {
			t.Errorf("ttl = %s, want about %d", n.Value, exp)
		}
	}
	if !found {
		t.Fatal("no state stored")
	}
}

func TestConcurrentCallbacks(t *testing.T) {
	w := newWorld(t)
	pid, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	authz := w.start(key, co, "https://partner.example/done")
	code, _ := w.fake.IssueCode(caID, "acct_1ConcurrentCb001")
	const n = 6
	var wg sync.WaitGroup
	results := make([]page, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = browse(t, "GET", callbackURL(authz, code), nil)
		}()
	}
	wg.Wait()
	connected, refused := 0, 0
	for _, r := range results {
		switch {
		case r.status == 302 && strings.Contains(r.location, "status=connected"):
			connected++
		case r.status == 400 && r.location == "":
			refused++
		default:
			t.Errorf("unexpected outcome %d %s", r.status, r.location)
		}
	}
	if connected != 1 || refused != n-1 {
		t.Fatalf("connected=%d refused=%d, want exactly one winner", connected, refused)
	}
	if len(w.fake.Exchanges()) != 1 {
		t.Fatalf("exchanges = %d, want 1", len(w.fake.Exchanges()))
	}
	if conns := w.connections(key, co); len(conns) != 1 {
		t.Fatalf("connections = %v", conns)
	}
	// One OAuth connection, announced once with the connection as listed.
	res := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+co+"/connections", key, nil)
	var list struct{ Data []json.RawMessage }
	res.JSON(t, &list)
	outboxtest.One(t, w.env.Store, pid, co, outbox.ConnectionCreated, "acct_1ConcurrentCb001", list.Data[0])
}

func TestAccountConnectedTwice(t *testing.T) {
	w := newWorld(t)
	pidA, keyA := w.partner("A", true)
	coA := w.company(keyA, "a1")
	coA2 := w.company(keyA, "a2")
	_, keyB := w.partner("B", true)
	coB := w.company(keyB, "b1")
	const acct = "acct_1ConnectedTwice1"

	if loc := w.connectOAuth(keyA, coA, acct); !strings.Contains(loc, "status=connected") {
		t.Fatalf("first connect: %s", loc)
	}
	for _, tc := range []struct{ name, key, co string }{{"same partner", keyA, coA2}, {"other partner", keyB, coB}} {
		t.Run(tc.name+" oauth", func(t *testing.T) {
			_, q := mustQuery(t, w.connectOAuth(tc.key, tc.co, acct))
			if q.Get("status") != "error" || q.Get("reason") != "account_already_connected" {
				t.Fatalf("got %v", q)
			}
			if conns := w.connections(tc.key, tc.co); len(conns) != 0 {
				t.Fatalf("second company got a connection: %v", conns)
			}
		})
		t.Run(tc.name+" link", func(t *testing.T) {
			res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+tc.co+"/stripe/link", tc.key, map[string]string{"account_id": acct})
			if res.Status != 409 || !strings.Contains(string(res.Body), "account_already_connected") {
				t.Fatalf("link = %d %s", res.Status, res.Body)
			}
		})
	}
	// Nothing was overwritten.
	r, err := w.env.Companies.LookupRoute(context.Background(), "stripe", acct)
	if err != nil || r.PartnerID != pidA || r.CompanyID != coA {
		t.Fatalf("route = %+v %v", r, err)
	}
	if conns := w.connections(keyA, coA); len(conns) != 1 || conns[0]["method"] != "oauth" {
		t.Fatalf("original connection changed: %v", conns)
	}
	t.Run("company already connected cannot start again", func(t *testing.T) {
		res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+coA+"/stripe/connect", keyA, map[string]string{"return_url": "https://partner.example/done"})
		if res.Status != 409 {
			t.Fatalf("start = %d %s", res.Status, res.Body)
		}
	})
}

func TestStartValidation(t *testing.T) {
	w := newWorld(t)
	pid, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	_, keyNoStripe := w.partner("NoStripe", false)
	coNoStripe := w.company(keyNoStripe, "n1")
	start := func(key, co string, body any) testenv.Response {
		return testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co+"/stripe/connect", key, body)
	}
	bad := []string{
		"", "partner.example/done", "/done", "http://partner.example/done", "ftp://partner.example/x",
		"javascript:alert(1)", "https://user:pw@partner.example/done", "https:///nohost", "https://partner.example/" + strings.Repeat("a", 2100),
		"data:text/html,hi", "https://partner .example/",
	}
	for _, u := range bad {
		t.Run("bad return_url "+u[:min(len(u), 30)], func(t *testing.T) {
			res := start(key, co, map[string]string{"return_url": u})
			if res.Status != 422 || !strings.Contains(string(res.Body), `"return_url"`) {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
		})
	}
	for _, u := range []string{"https://partner.example/done", "http://localhost:8080/cb", "http://127.0.0.1:5173/cb?x=1"} {
		t.Run("good return_url "+u, func(t *testing.T) {
			if res := start(key, co, map[string]string{"return_url": u}); res.Status != 201 {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
		})
	}
	t.Run("allowed hosts", func(t *testing.T) {
		if err := w.env.Partners.SetAllowedReturnHosts(context.Background(), pid, []string{"app.partner.example", "*.tenants.example"}); err != nil {
			t.Fatal(err)
		}
		for u, want := range map[string]int{
			"https://app.partner.example/done":   201,
			"https://APP.partner.example/done":   201,
			"https://x.tenants.example/done":     201,
			"https://tenants.example/done":       422,
			"https://partner.example/done":       422,
			"https://app.partner.example.evil/x": 422,
			"http://localhost:8080/cb":           422,
		} {
			if res := start(key, co, map[string]string{"return_url": u}); res.Status != want {
				t.Errorf("%s = %d %s, want %d", u, res.Status, res.Body, want)
			}
		}
	})
	t.Run("stripe not configured", func(t *testing.T) {
		res := start(keyNoStripe, coNoStripe, map[string]string{"return_url": "https://partner.example/done"})
		if res.Status != 422 || !strings.Contains(string(res.Body), "configure Stripe") {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	t.Run("malformed body", func(t *testing.T) {
		if res := start(key, co, `{"return_url":`); res.Status != 400 {
			t.Fatalf("got %d", res.Status)
		}
	})
	t.Run("unknown company", func(t *testing.T) {
		if res := start(key, "co_doesnotexist", map[string]string{"return_url": "https://partner.example/done"}); res.Status != 404 {
			t.Fatalf("got %d", res.Status)
		}
	})
}

// TestStateStoredHashed: the table key is the SHA-256 of the state, never the state.
func TestStateStoredHashed(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	authz := w.start(key, co, "https://partner.example/done")
	state := authz.Query().Get("state")
	var item map[string]any
	if err := w.env.Store.Get(context.Background(), "OAUTHSTATE#"+state, "STATE", &item); err != store.ErrNotFound {
		t.Fatalf("state stored under its raw value: %v", err)
	}
	if raw := dumpTable(t, w); strings.Contains(raw, state) {
		t.Fatal("raw state in the table")
	}
}

// TestCallbackThroughLambda runs the OAuth redirect through the real Lambda
// entry (API Gateway v2 event -> adapter -> handler): the 302 and its Location
// must survive the adapter.
func TestCallbackThroughLambda(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	authz := w.start(key, co, "https://partner.example/done")
	code, _ := w.fake.IssueCode(caID, "acct_1ThroughLambda01")
	w.env.Vars["STRIPE_CONNECT_URL"] = w.fake.URL
	h, _, err := app.HTTPLambda(context.Background(), w.env.Getenv, connectfn.StripeOAuthHandler, w.env.Log)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"code": {code}, "state": {authz.Query().Get("state")}}.Encode()
	var cookies []string // the binding cookie the browser got from the start link
	for _, c := range browser.Cookies(mustURL(t, w.srv.URL+"/integrations/stripe")) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "ANY /integrations/stripe", RawPath: "/integrations/stripe", RawQueryString: q,
		Headers: map[string]string{"accept": "text/html"}, Cookies: cookies,
		RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "abc.execute-api.us-east-1.amazonaws.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/integrations/stripe"}},
	}
	res, err := h(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	loc := res.Headers["Location"]
	if res.StatusCode != 302 || !strings.HasPrefix(loc, "https://partner.example/done?") || !strings.Contains(loc, "status=connected") {
		t.Fatalf("lambda = %d %v %s", res.StatusCode, res.Headers, res.Body)
	}
	res, _ = h(context.Background(), ev) // replay
	if res.StatusCode != 400 || res.Headers["Location"] != "" || !strings.HasPrefix(res.Headers["Content-Type"], "text/html") {
		t.Fatalf("replay through lambda = %d %v", res.StatusCode, res.Headers)
	}
}

// TestCallbackRequiresTheStartingBrowser: the callback is honoured only in the
// browser that opened the start link (its binding cookie). An authorize link
// approved in another browser is refused with the error page, never a redirect,
// and nothing is connected.
func TestCallbackRequiresTheStartingBrowser(t *testing.T) {
	w := newWorld(t)
	_, key := w.partner("Acme", true)
	co := w.company(key, "c1")
	other, _ := cookiejar.New(nil)
	tests := []struct {
		name string
		jar  func(t *testing.T) http.CookieJar
	}{
		{"no cookie at all", func(*testing.T) http.CookieJar { return nil }},
		{"another browser's cookie jar", func(*testing.T) http.CookieJar { return other }},
		{"a forged binding cookie", func(t *testing.T) http.CookieJar {
			j, _ := cookiejar.New(nil)
			for _, c := range browser.Cookies(mustURL(t, w.srv.URL+"/integrations/stripe")) {
				j.SetCookies(mustURL(t, w.srv.URL+"/integrations/stripe"), []*http.Cookie{{Name: c.Name, Value: "forged" + c.Value[6:], Path: "/integrations/stripe"}})
			}
			return j
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			authz := w.start(key, co, "https://partner.example/done")
			code, err := w.fake.IssueCode(caID, "acct_1UnboundBrowser1")
			if err != nil {
				t.Fatal(err)
			}
			pg := browseWith(t, tc.jar(t), "GET", callbackURL(authz, code), nil)
			if pg.status != 400 || pg.location != "" {
				t.Fatalf("callback from another browser = %d %q", pg.status, pg.location)
			}
			// The state is used up: the starting browser cannot finish it afterwards either.
			if pg := browse(t, "GET", callbackURL(authz, code), nil); pg.status != 400 {
				t.Fatalf("replay in the starting browser = %d", pg.status)
			}
		})
	}
	if conns := w.connections(key, co); len(conns) != 0 {
		t.Fatalf("connected from an unbound browser: %v", conns)
	}
	if len(w.fake.Exchanges()) != 0 {
		t.Fatal("an unbound callback reached Stripe")
	}
}
