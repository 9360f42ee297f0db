package splits_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/local/connectfake"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/splits"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world: the demo partner (Stripe configured, tenant company "Demo Bakery" on
// demo.StripeAccountID) plus two partnership companies with connected accounts.
type world struct {
	t      *testing.T
	env    *testenv.Env
	srv    *httptest.Server
	d      demo.Demo
	school string // partnership IDs
	agent  string
	fake   *connectfake.Fake // Stripe Connect's money (transfers, balances), over stripe-mock
	// afterStripe, when set, runs once a request to the Connect fake was
	// handled and before its answer reaches the caller (concurrent deliveries).
	afterStripe *atomic.Pointer[func(*http.Request)]
}

const (
	schoolAcct = "acct_1SchoolAccount001"
	agentAcct  = "acct_1AgentAccount0001"
)

func newWorld(t *testing.T, opts ...func(*app.Config)) *world {
	t.Helper()
	after := new(atomic.Pointer[func(*http.Request)])
	fake, fakeURL := newConnectFake(t, after)
	env := testenv.New(t, append([]func(*app.Config){func(c *app.Config) { c.StripeAPIURL = fakeURL }}, opts...)...)
	ctx := context.Background()
	d, err := demo.Seed(ctx, env.Env)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, env: env, srv: env.Server(), d: d, fake: fake, afterStripe: after}
	for _, a := range []string{demo.StripeAccountID, schoolAcct, agentAcct} {
		fake.SetAccount(connectfake.Account{ID: a, Country: "US", Transfers: true, CardPayments: true})
	}
	for _, c := range []struct{ ext, acct string }{{"school", schoolAcct}, {"agent", agentAcct}} {
		co, _, err := env.Companies.Create(ctx, d.PartnerID, c.ext, c.ext)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.Companies.Connect(ctx, companies.Connection{PartnerID: d.PartnerID, CompanyID: co.ID, Provider: "stripe",
			AccountID: c.acct, Method: "linked", ConnectedAt: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	w.school = w.create("/v1/partnerships", map[string]string{"name": "Sydney College", "stripe_account_id": schoolAcct})["id"].(string)
	w.agent = w.create("/v1/partnerships", map[string]string{"name": "Sub-agent", "stripe_account_id": agentAcct})["id"].(string)
	return w
}

func (w *world) do(method, path string, body any) testenv.Response {
	w.t.Helper()
	return testenv.Do(w.t, method, w.srv.URL+path, w.d.APIKey, body)
}

// create POSTs and requires 201.
func (w *world) create(path string, body any) map[string]any {
	w.t.Helper()
	res := w.do("POST", path, body)
	if res.Status != http.StatusCreated {
		w.t.Fatalf("POST %s: %d %s\n%s", path, res.Status, res.Body, tail(w.logs()))
	}
	var m map[string]any
	res.JSON(w.t, &m)
	return m
}

// intent creates an intent and returns its ID and item IDs. The tenant is the
// demo company unless the body names one (its share is transferred to it).
func (w *world) intent(body string) (string, []string) {
	w.t.Helper()
	if !strings.Contains(body, `"company"`) {
		body = `{"company":"` + w.d.CompanyID + `",` + strings.TrimPrefix(strings.TrimSpace(body), "{")
	}
	m := w.create("/v1/payment-intents", body)
	var items []string
	for _, it := range m["items"].([]any) {
		items = append(items, it.(map[string]any)["id"].(string))
	}
	return m["id"].(string), items
}

// newConnectFake starts the Connect fake (spec-checked) in front of stripe-mock.
func newConnectFake(t *testing.T, after *atomic.Pointer[func(*http.Request)]) (*connectfake.Fake, string) {
	t.Helper()
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	path, err := connectfake.StripeMockSpecPath()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := connectfake.LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	fake, err := connectfake.New(st.StripeURL, spec, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if fn := after.Load(); fn != nil {
			rec := httptest.NewRecorder()
			fake.ServeHTTP(rec, r)
			(*fn)(r)
			maps.Copy(rw.Header(), rec.Header())
			rw.WriteHeader(rec.Code)
			_, _ = rw.Write(rec.Body.Bytes())
			return
		}
		fake.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		if bad := fake.Invalid(); len(bad) > 0 {
			t.Errorf("requests or answers outside Stripe's OpenAPI: %v", bad)
		}
	})
	return fake, srv.URL
}

// pay has the payer pay a platform PaymentIntent for the intent (as the
// checkout endpoint creates it) and delivers Stripe's signed platform event.
func (w *world) pay(stripePI, intentID string, amount int64, currency string) testenv.Response {
	w.t.Helper()
	w.fake.NewPaymentIntent(stripePI, amount, currency, intentID, map[string]string{"payrecon_intent": intentID, "payrecon_partner": w.d.PartnerID})
	body, err := w.fake.Pay(stripePI, "card")
	if err != nil {
		w.t.Fatal(err)
	}
	return w.platformEvent(body)
}

// platformEvent delivers a signed event on the partner's platform endpoint.
func (w *world) platformEvent(body []byte) testenv.Response {
	w.t.Helper()
	return w.event("/stripe/"+w.d.PartnerID, body)
}

// connectedEvent delivers a signed connected-account event on the shared endpoint.
func (w *world) connectedEvent(body []byte) testenv.Response {
	w.t.Helper()
	return w.event("/stripe", body)
}

func (w *world) event(path string, body []byte) testenv.Response {
	w.t.Helper()
	return w.post(path, string(body), map[string]string{"Stripe-Signature": demo.SignStripe(body, demo.StripeWebhookSecret, time.Now())})
}

// post sends a raw JSON body with the given headers (no API key unless given).
func (w *world) post(path, body string, headers map[string]string) testenv.Response {
	w.t.Helper()
	req, _ := http.NewRequest("POST", w.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return testenv.Response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

func (w *world) payouts(intentID string) splits.PayoutsView {
	w.t.Helper()
	res := w.do("GET", "/v1/payment-intents/"+intentID+"/payouts", nil)
	if res.Status != 200 {
		w.t.Fatalf("payouts: %d %s", res.Status, res.Body)
	}
	var v splits.PayoutsView
	res.JSON(w.t, &v)
	return v
}

func payee(v splits.PayoutsView, key string) splits.PayeeView {
	for _, p := range v.Payees {
		if p.Key == key {
			return p
		}
	}
	return splits.PayeeView{}
}

// TestEndToEnd: a tax, two partnerships, an intent with items and splits of every
// type, paid through a signed webhook; transfers go to stripe-mock.
func TestEndToEnd(t *testing.T) {
	w := newWorld(t)
	tax := w.create("/v1/taxes", `{"name":"GST","country":"AU","tax_type":"gst","inclusive":false,"percentage":0.1}`)["id"].(string)
	// AUD 1500 + a 1500 course with a 30% keep and a sub-agent on the kept part.
	intentID, items := w.intent(fmt.Sprintf(`{"contact":"ct_student","currency":"AUD","due_at":"2030-01-31","supplier":%q,"items":[
		{"name":"Tuition","amount":120000},{"name":"Enrolment","amount":20000},{"name":"Commission","amount":10000},
		{"name":"English course","amount":150000}]}`, w.school))
	keep := w.create("/v1/payment-splits", map[string]any{"type": "keep-percentage", "keep": 1, "item": items[2], "payment_intent": intentID})
	keep30 := w.create("/v1/payment-splits", map[string]any{"type": "keep-percentage", "keep": 0.3, "item": items[3], "partnership": w.school, "tax": tax, "payment_intent": intentID})
	sub := w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-splits", "percentage": 0.1, "split": keep30["id"], "partnership": w.agent, "payment_intent": intentID})
	bonus := w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 5000, "item": items[0], "partnership": w.agent, "payment_intent": intentID})
	poa := w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "percentage": 0.05, "amount": 1000, "item": items[1], "partnership": w.agent, "payment_intent": intentID})

	for _, tc := range []struct {
		name            string
		split           map[string]any
		amount, taxTotl float64
		kept            any
	}{
		{"commission item stays with the tenant", keep, 0, 0, float64(10000)},
		{"30% keep: 1050.00 to the school", keep30, 105000, 4500, float64(45000)},
		{"10% of the kept 450.00", sub, 4500, 0, nil},
		{"fixed bonus", bonus, 5000, 0, nil},
		{"5% of enrolment", poa, 1000, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.split["amount"] != tc.amount || tc.split["tax_total"] != tc.taxTotl || tc.split["kept"] != tc.kept {
				t.Fatalf("%v", tc.split)
			}
		})
	}
	v := w.payouts(intentID)
	if v.Amount != 300000 || v.Status != splits.IntentDue || v.Tenant.Amount != 10000+40500 {
		t.Fatalf("before payment: %+v", v)
	}
	if s := payee(v, "supplier"); s.Amount != 115000+19000 || s.Partnership != w.school {
		t.Fatalf("supplier: %+v", s)
	}

	t.Run("self and supplier cannot be created", func(t *testing.T) {
		for _, typ := range []string{"self", "supplier"} {
			res := w.do("POST", "/v1/payment-splits", map[string]any{"type": typ, "item": items[0], "partnership": w.agent, "payment_intent": intentID})
			if res.Status != 422 || !strings.Contains(string(res.Body), "computed by the system") {
				t.Fatalf("%s: %d %s", typ, res.Status, res.Body)
			}
		}
	})

	res := w.pay("pi_e2e_full", intentID, 300000, "aud")
	if res.Status != 200 {
		t.Fatalf("webhook: %d %s", res.Status, res.Body)
	}
	v = w.payouts(intentID)
	if v.Status != splits.IntentPaid || v.AmountReceived != 300000 || v.Tenant.Received != 50500 {
		t.Fatalf("after payment: %+v", v)
	}
	var paid int64
	for _, p := range v.Payees {
		if p.Amount > 0 && (p.Status != splits.SplitPaid || p.Paid != p.Amount || len(p.Transfers) != 1 || p.Transfers[0].TransferID == "") {
			t.Fatalf("payee %+v", p)
		}
		paid += p.Paid
	}
	if paid+v.Tenant.Received != 300000 {
		t.Fatalf("paid %d + tenant %d != 3000.00", paid, v.Tenant.Received)
	}
	t.Run("redelivery pays nothing twice", func(t *testing.T) {
		if res := w.pay("pi_e2e_full", intentID, 300000, "aud"); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		again := w.payouts(intentID)
		for _, p := range again.Payees {
			if len(p.Transfers) > 1 {
				t.Fatalf("second transfer for %s", p.Key)
			}
		}
	})
	t.Run("splits are frozen once paid", func(t *testing.T) {
		if res := w.do("PATCH", "/v1/payment-splits/"+bonus["id"].(string), map[string]any{"amount": 6000}); res.Status != 409 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if res := w.do("DELETE", "/v1/payment-splits/"+bonus["id"].(string), nil); res.Status != 409 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("split reads show status and amount paid", func(t *testing.T) {
		res := w.do("GET", "/v1/payment-splits/"+keep30["id"].(string), nil)
		var s splits.Split
		res.JSON(t, &s)
		if s.Status != splits.SplitPaid || s.AmountPaid != 105000 || s.Amount != 105000 || s.TaxTotal != 4500 {
			t.Fatalf("%+v", s)
		}
	})
}

// TestPartialPayments: two payments pay out in proportion, never beyond what was received.
func TestPartialPayments(t *testing.T) {
	w := newWorld(t)
	// 60 % + 525.00 of 1500.00: the tenant keeps 75.00, which bears the Stripe fees.
	intentID, items := w.intent(`{"currency":"EUR","items":[{"name":"Enrolment","amount":150000}]}`)
	w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "percentage": 0.6, "item": items[0], "partnership": w.school, "payment_intent": intentID})
	w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 52500, "item": items[0], "partnership": w.agent, "payment_intent": intentID})

	if res := w.pay("pi_part_1", intentID, 50000, "eur"); res.Status != 200 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	v := w.payouts(intentID)
	if v.Status != splits.IntentPaidPartial || v.AmountReceived != 50000 {
		t.Fatalf("%+v", v)
	}
	var sum int64
	for _, p := range v.Payees {
		sum += p.Paid
		if p.Status != splits.SplitPending {
			t.Fatalf("partially paid payee marked %s", p.Status)
		}
	}
	if sum != 47500 { // 300.00 + 175.00: a third of each; the tenant's third is 25.00
		t.Fatalf("paid %d of 475.00 due to payees", sum)
	}
	if res := w.pay("pi_part_2", intentID, 100000, "eur"); res.Status != 200 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	v = w.payouts(intentID)
	for _, p := range v.Payees {
		if p.Status != splits.SplitPaid || p.Paid != p.Amount || len(p.Transfers) != 2 {
			t.Fatalf("%+v", p)
		}
		if p.Transfers[0].Amount*3 != p.Amount {
			t.Fatalf("first transfer %d is not a third of %d", p.Transfers[0].Amount, p.Amount)
		}
	}
	t.Run("wrong currency payment releases nothing", func(t *testing.T) {
		id2, items2 := w.intent(`{"currency":"EUR","items":[{"name":"x","amount":1000}]}`)
		w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 500, "item": items2[0], "partnership": w.agent, "payment_intent": id2})
		if res := w.pay("pi_part_usd", id2, 1000, "usd"); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if v := w.payouts(id2); v.AmountReceived != 0 || len(v.Payees[0].Transfers) != 0 {
			t.Fatalf("%+v", v)
		}
	})
}

func TestBadInput(t *testing.T) {
	w := newWorld(t)
	intentID, items := w.intent(`{"currency":"EUR","items":[{"name":"Enrolment","amount":150000}]}`)
	other, otherItems := w.intent(`{"currency":"EUR","items":[{"name":"Other","amount":1000}]}`)
	school := w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "percentage": 0.65, "item": items[0], "partnership": w.school, "payment_intent": intentID})
	otherSplit := w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 100, "item": otherItems[0], "partnership": w.school, "payment_intent": other})
	archived := w.create("/v1/taxes", `{"name":"Old VAT","tax_type":"vat","percentage":0.2}`)["id"].(string)
	if res := w.do("POST", "/v1/taxes/"+archived+"/archive", nil); res.Status != 200 {
		t.Fatalf("archive: %d %s", res.Status, res.Body)
	}
	split := func(extra map[string]any) map[string]any {
		m := map[string]any{"type": "fixed", "amount": 100, "item": items[0], "partnership": w.agent, "payment_intent": intentID}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		want   string
	}{
		{"unknown intent", "POST", "/v1/payment-splits", split(map[string]any{"payment_intent": "intent_nope"}), 404, "payment intent"},
		{"unknown partnership", "POST", "/v1/payment-splits", split(map[string]any{"partnership": "pship_nope"}), 404, "partnership"},
		{"unknown item", "POST", "/v1/payment-splits", split(map[string]any{"item": "item_nope"}), 404, "item"},
		{"unknown tax", "POST", "/v1/payment-splits", split(map[string]any{"tax": "tax_nope"}), 404, "tax"},
		{"unknown referenced split", "POST", "/v1/payment-splits", split(map[string]any{"type": "percentage-on-splits", "amount": nil, "percentage": 0.1, "split": "split_nope"}), 404, "split"},
		{"cross-intent split reference", "POST", "/v1/payment-splits", split(map[string]any{"type": "percentage-on-splits", "amount": nil, "percentage": 0.1, "split": otherSplit["id"]}), 422, "another payment intent"},
		{"over-allocation names the shortfall", "POST", "/v1/payment-splits", split(map[string]any{"amount": 55000}), 422, "by 25.00 EUR"},
		{"wrong currency", "POST", "/v1/payment-splits", split(map[string]any{"currency": "USD"}), 422, "currency"},
		{"archived tax", "POST", "/v1/payment-splits", split(map[string]any{"tax": archived}), 422, "archived"},
		{"percentage as a whole number", "POST", "/v1/payment-splits", split(map[string]any{"type": "percentage-on-amount", "amount": nil, "percentage": 65}), 422, "between 0 and 1"},
		{"malformed JSON", "POST", "/v1/payment-splits", `{"type":`, 400, "JSON"},
		{"partnership on an account not connected", "POST", "/v1/partnerships", map[string]string{"name": "x", "stripe_account_id": "acct_1NotConnected0001"}, 422, "not a Stripe account connected"},
		{"same account twice", "POST", "/v1/partnerships", map[string]string{"name": "x", "stripe_account_id": schoolAcct}, 409, "already"},
		{"intent with an unknown supplier", "POST", "/v1/payment-intents", `{"currency":"EUR","supplier":"pship_nope","items":[{"name":"x","amount":1}]}`, 404, "partnership"},
		{"intent with an archived tax", "POST", "/v1/payment-intents", fmt.Sprintf(`{"currency":"EUR","tax":%q,"items":[{"name":"x","amount":1}]}`, archived), 422, "archived"},
		{"list splits needs an intent", "GET", "/v1/payment-splits", nil, 400, "payment_intent"},
		{"unknown split", "GET", "/v1/payment-splits/split_nope", nil, 404, "split"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.do(tc.method, tc.path, tc.body)
			if res.Status != tc.status || !strings.Contains(string(res.Body), tc.want) {
				t.Fatalf("%d %s, want %d mentioning %q", res.Status, res.Body, tc.status, tc.want)
			}
		})
	}
	t.Run("cycle through PATCH", func(t *testing.T) {
		a := w.create("/v1/payment-splits", split(map[string]any{"type": "percentage-on-splits", "amount": nil, "percentage": 0.1, "split": school["id"]}))
		b := w.create("/v1/payment-splits", split(map[string]any{"type": "percentage-on-splits", "amount": nil, "percentage": 0.1, "split": a["id"]}))
		if b["amount"] != float64(975) { // 10% of 10% of 975.00
			t.Fatalf("%v", b)
		}
		res := w.do("PATCH", "/v1/payment-splits/"+a["id"].(string), map[string]any{"split": b["id"]})
		if res.Status != 422 || !strings.Contains(string(res.Body), "cycle") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if res := w.do("DELETE", "/v1/payment-splits/"+a["id"].(string), nil); res.Status != 409 {
			t.Fatalf("delete referenced: %d %s", res.Status, res.Body)
		}
		for _, id := range []any{b["id"], a["id"]} {
			if res := w.do("DELETE", "/v1/payment-splits/"+id.(string), nil); res.Status != 204 {
				t.Fatalf("delete: %d %s", res.Status, res.Body)
			}
		}
	})
	t.Run("PATCH recomputes", func(t *testing.T) {
		res := w.do("PATCH", "/v1/payment-splits/"+school["id"].(string), map[string]any{"percentage": 0.5})
		var s splits.Split
		res.JSON(t, &s)
		if res.Status != 200 || s.Amount != 75000 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("list by intent", func(t *testing.T) {
		res := w.do("GET", "/v1/payment-splits?payment_intent="+intentID, nil)
		var p struct{ Data []splits.Split }
		res.JSON(t, &p)
		if res.Status != 200 || len(p.Data) != 1 || p.Data[0].Amount != 75000 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	w := newWorld(t)
	intentID, items := w.intent(`{"currency":"EUR","items":[{"name":"Enrolment","amount":150000}]}`)
	sp := w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 100, "item": items[0], "partnership": w.school, "payment_intent": intentID})
	tax := w.create("/v1/taxes", `{"name":"VAT","tax_type":"vat","percentage":0.2}`)["id"].(string)
	_, keyB := w.env.Partner("Other partner")
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/payment-intents/" + intentID},
		{"GET", "/v1/payment-intents/" + intentID + "/payouts"},
		{"POST", "/v1/payment-intents/" + intentID + "/cancel"},
		{"GET", "/v1/payment-splits/" + sp["id"].(string)},
		{"PATCH", "/v1/payment-splits/" + sp["id"].(string)},
		{"DELETE", "/v1/payment-splits/" + sp["id"].(string)},
		{"GET", "/v1/payment-splits?payment_intent=" + intentID},
		{"GET", "/v1/partnerships/" + w.school},
		{"GET", "/v1/taxes/" + tax},
		{"POST", "/v1/taxes/" + tax + "/archive"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body any
			if tc.method == "PATCH" {
				body = map[string]any{"amount": 200}
			}
			if res := testenv.Do(t, tc.method, w.srv.URL+tc.path, keyB, body); res.Status != 404 {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
		})
	}
	t.Run("B cannot split A's intent or use A's partnership", func(t *testing.T) {
		res := testenv.Do(t, "POST", w.srv.URL+"/v1/payment-splits", keyB, map[string]any{"type": "fixed", "amount": 1, "item": items[0], "partnership": w.school, "payment_intent": intentID})
		if res.Status != 404 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		res = testenv.Do(t, "POST", w.srv.URL+"/v1/partnerships", keyB, map[string]string{"name": "steal", "stripe_account_id": schoolAcct})
		if res.Status != 422 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("lists are per partner", func(t *testing.T) {
		for _, path := range []string{"/v1/taxes", "/v1/partnerships", "/v1/payment-intents"} {
			res := testenv.Do(t, "GET", w.srv.URL+path, keyB, nil)
			var p struct{ Data []any }
			res.JSON(t, &p)
			if res.Status != 200 || len(p.Data) != 0 {
				t.Fatalf("%s: %d %s", path, res.Status, res.Body)
			}
		}
	})
	t.Run("no key", func(t *testing.T) {
		if res := testenv.Do(t, "GET", w.srv.URL+"/v1/taxes", "", nil); res.Status != 401 {
			t.Fatalf("%d", res.Status)
		}
	})
}

func (w *world) logs() string { return w.env.Logs.String() }

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

// TestConcurrentSplitsNeverOverAllocate: racing creates on one item serialize on
// the intent's version, so the accepted splits always fit the item.
func TestConcurrentSplitsNeverOverAllocate(t *testing.T) {
	w := newWorld(t)
	intentID, items := w.intent(`{"currency":"EUR","items":[{"name":"Enrolment","amount":150000}]}`)
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := testenv.Do(t, "POST", w.srv.URL+"/v1/payment-splits", w.d.APIKey,
				map[string]any{"type": "fixed", "amount": 20000, "item": items[0], "partnership": w.agent, "payment_intent": intentID})
			statuses[i] = res.Status
		}()
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		switch st {
		case 201:
			created++
		case 422, 409: // does not fit any more, or lost the race too often: the client retries
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	v := w.payouts(intentID)
	var sum int64
	for _, p := range v.Payees {
		sum += p.Amount
	}
	if created > 7 || sum != int64(created)*20000 || sum+v.Tenant.Amount != 150000 {
		t.Fatalf("created %d (statuses %v), splits sum to %d, tenant %d", created, statuses, sum, v.Tenant.Amount)
	}
	t.Logf("statuses %v", statuses)
}
