package vault_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app/vaultfn"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/vault"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// localWorld is newWorld behind every function of template.yaml, as the
// local runner serves them (vault, qualpay-webhook, worker queue in process).
func localWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	w.srv = w.env.Server()
	return w
}

func (w *world) at(t *testing.T, method, path string, body any) testenv.Response {
	t.Helper()
	return testenv.Do(t, method, w.srv.URL+"/v1/companies/"+w.co+path, w.key, body)
}

// TestSubscriptionWalkthrough: a customer, a card, a plan, a subscription on
// the card, a bill, then pause, resume and cancel, over HTTP against the
// spec-validated fake.
func TestSubscriptionWalkthrough(t *testing.T) {
	w := localWorld(t)
	today := time.Now().UTC().Format(time.DateOnly)
	var c vault.Customer
	var card vault.Card
	var sub vault.Subscription
	for _, step := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"customer", func(t *testing.T) {
			res := w.at(t, "POST", "/qualpay/customers", `{"first_name":"Jane","last_name":"Baker","email":"jane@example.com"}`)
			want(t, res, 201, "")
			res.JSON(t, &c)
		}},
		{"card", func(t *testing.T) {
			res := w.at(t, "POST", "/qualpay/customers/"+c.CustomerID+"/cards", cardBody(w.token(t, "4111111111111111", "1228")))
			want(t, res, 201, "")
			res.JSON(t, &card)
		}},
		{"plan", func(t *testing.T) {
			res := w.at(t, "POST", "/qualpay/plans", `{"plan_code":"GOLD01","name":"Gold monthly","frequency":"monthly","amount":1999,"currency":"USD"}`)
			want(t, res, 201, "")
			var p vault.Plan
			res.JSON(t, &p)
			if p.PlanCode != "GOLD01" || p.Amount != 1999 || p.Currency != "USD" || p.Frequency != "monthly" || p.Cycles != -1 || p.Status != "active" {
				t.Fatalf("plan %+v", p)
			}
			want(t, w.at(t, "POST", "/qualpay/plans", `{"plan_code":"GOLD01","name":"again","frequency":"monthly","amount":1}`), 409, "conflict")
			var ps struct{ Data []vault.Plan }
			w.at(t, "GET", "/qualpay/plans", nil).JSON(t, &ps)
			if len(ps.Data) != 1 {
				t.Fatalf("plans %+v", ps)
			}
		}},
		{"subscription from the plan on the stored card", func(t *testing.T) {
			res := w.at(t, "POST", "/qualpay/customers/"+c.CustomerID+"/subscriptions", `{"plan_code":"GOLD01","date_start":"`+today+`"}`)
			want(t, res, 201, "")
			res.JSON(t, &sub)
			if sub.Status != "active" || sub.CardID != card.CardID || sub.Amount != 1999 || sub.PlanCode != "GOLD01" || sub.CustomerID != c.CustomerID {
				t.Fatalf("subscription %+v", sub)
			}
			var list struct{ Data []vault.Subscription }
			w.at(t, "GET", "/qualpay/customers/"+c.CustomerID+"/subscriptions", nil).JSON(t, &list)
			if len(list.Data) != 1 || list.Data[0].SubscriptionID != sub.SubscriptionID {
				t.Fatalf("list %+v", list)
			}
		}},
		{"a resent create (its answer lost) makes no second subscription", func(t *testing.T) {
			res := w.at(t, "POST", "/qualpay/customers/"+c.CustomerID+"/subscriptions", `{"plan_code":"GOLD01","date_start":"`+today+`"}`)
			want(t, res, 201, "")
			var again vault.Subscription
			res.JSON(t, &again)
			if again.SubscriptionID != sub.SubscriptionID {
				t.Fatalf("resent create made subscription %d beside %d", again.SubscriptionID, sub.SubscriptionID)
			}
			var list struct{ Data []vault.Subscription }
			w.at(t, "GET", "/qualpay/customers/"+c.CustomerID+"/subscriptions", nil).JSON(t, &list)
			if len(list.Data) != 1 {
				t.Fatalf("list %+v", list)
			}
		}},
		{"its transactions", func(t *testing.T) {
			if _, err := w.fk.BillSubscription(sub.SubscriptionID); err != nil {
				t.Fatal(err)
			}
			var ts struct{ Data []vault.Transaction }
			res := w.at(t, "GET", subPath(c.CustomerID, sub.SubscriptionID)+"/transactions", nil)
			want(t, res, 200, "")
			res.JSON(t, &ts)
			if len(ts.Data) != 1 || ts.Data[0].Amount != 1999 || ts.Data[0].Currency != "USD" || ts.Data[0].CardNumber != "411111xxxxxx1111" {
				t.Fatalf("transactions %+v", ts)
			}
		}},
		{"pause", func(t *testing.T) { wantStatus(t, w, c.CustomerID, sub.SubscriptionID, "pause", 200, "paused") }},
		{"pause again is a no-op", func(t *testing.T) { wantStatus(t, w, c.CustomerID, sub.SubscriptionID, "pause", 200, "paused") }},
		{"resume", func(t *testing.T) { wantStatus(t, w, c.CustomerID, sub.SubscriptionID, "resume", 200, "active") }},
		{"cancel", func(t *testing.T) { wantStatus(t, w, c.CustomerID, sub.SubscriptionID, "cancel", 200, "cancelled") }},
		{"a cancelled subscription cannot be resumed", func(t *testing.T) {
			want(t, w.at(t, "POST", subPath(c.CustomerID, sub.SubscriptionID)+"/resume", nil), 409, "conflict")
		}},
		{"get shows the final state", func(t *testing.T) {
			var got vault.Subscription
			w.at(t, "GET", subPath(c.CustomerID, sub.SubscriptionID), nil).JSON(t, &got)
			if got.Status != "cancelled" {
				t.Fatalf("got %+v", got)
			}
		}},
	} {
		if !t.Run(step.name, step.run) {
			t.FailNow()
		}
	}

	// Refusals: other companies, unknown IDs, bad input.
	other := w.company(t, w.pid, "other", otherMID)
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"another company's customer", "GET", "/v1/companies/" + other + subPath(c.CustomerID, sub.SubscriptionID), nil, 404},
		{"unknown subscription", "GET", "/v1/companies/" + w.co + subPath(c.CustomerID, 999999), nil, 404},
		{"not a subscription id", "POST", "/v1/companies/" + w.co + "/qualpay/customers/" + c.CustomerID + "/subscriptions/abc/pause", nil, 404},
		{"start in the past", "POST", "/v1/companies/" + w.co + "/qualpay/customers/" + c.CustomerID + "/subscriptions", `{"plan_code":"GOLD01","date_start":"2001-01-01"}`, 422},
		{"a card of nobody", "POST", "/v1/companies/" + w.co + "/qualpay/customers/" + c.CustomerID + "/subscriptions", `{"plan_code":"GOLD01","card_id":"0123456789abcdef0123456789abcdef","date_start":"` + today + `"}`, 422},
		{"unknown plan", "POST", "/v1/companies/" + w.co + "/qualpay/customers/" + c.CustomerID + "/subscriptions", `{"plan_code":"NOPE","date_start":"` + today + `"}`, 422},
		{"bad plan", "POST", "/v1/companies/" + w.co + "/qualpay/plans", `{"plan_code":"x y","name":"","frequency":"hourly","amount":0}`, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := testenv.Do(t, tc.method, w.srv.URL+tc.path, w.key, tc.body)
			if res.Status != tc.status {
				t.Fatalf("%d %s, want %d", res.Status, res.Body, tc.status)
			}
		})
	}
	if v := w.fk.Violations(); len(v) > 0 {
		t.Fatalf("contract violations: %v", v)
	}
}

func subPath(customerID string, id int64) string {
	return "/qualpay/customers/" + customerID + "/subscriptions/" + strconv.FormatInt(id, 10)
}

func wantStatus(t *testing.T, w *world, customerID string, id int64, action string, status int, state string) {
	t.Helper()
	res := w.at(t, "POST", subPath(customerID, id)+"/"+action, nil)
	want(t, res, status, "")
	var s vault.Subscription
	res.JSON(t, &s)
	if s.Status != state {
		t.Fatalf("%s: status %q, want %q", action, s.Status, state)
	}
}

// TestAccountUpdaterWalkthrough: Qualpay's Account Updater gives a stored card
// a new expiry and another a new number; its signed "harvest complete" webhook
// reaches /qualpay, the worker reads /reporting/aus/detail and the customer's
// cards and list summary show the change. The reports are served too.
func TestAccountUpdaterWalkthrough(t *testing.T) {
	w := localWorld(t)
	var c vault.Customer
	want(t, w.at(t, "POST", "/qualpay/customers", `{"first_name":"Jane","last_name":"Baker"}`), 201, "")
	res := w.at(t, "GET", "/qualpay/customers?limit=1", nil)
	var page struct{ Data []vault.Summary }
	res.JSON(t, &page)
	c.CustomerID = page.Data[0].CustomerID
	var visa, mc vault.Card
	w.at(t, "POST", "/qualpay/customers/"+c.CustomerID+"/cards", cardBody(w.token(t, "4111111111111111", "1226"))).JSON(t, &visa)
	w.at(t, "POST", "/qualpay/customers/"+c.CustomerID+"/cards", cardBody(w.token(t, "5555555555554444", "0327"))).JSON(t, &mc)

	reqID, err := w.fk.RunAccountUpdater(mid,
		qualpayfake.AccountUpdaterResult{CustomerID: c.CustomerID, CardID: visa.CardID, NewExp: "1230"},
		qualpayfake.AccountUpdaterResult{CustomerID: c.CustomerID, CardID: mc.CardID, NewPAN: "5105105105105100", NewExp: "0931"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"event":"` + webhooks.QualpayAccountUpdaterCompleted + `","event_id":"aus-` + strconv.FormatInt(reqID, 10) +
		`","merchant_id":` + strconv.FormatInt(mid, 10) + `,"data":{"merchant_id":` + strconv.FormatInt(mid, 10) + `,"request_id":` + strconv.FormatInt(reqID, 10) + `}}`)
	for range 2 { // a redelivery changes nothing more
		req, _ := http.NewRequest("POST", w.srv.URL+"/qualpay", strings.NewReader(string(body)))
		req.Header.Set(webhooks.QualpaySignatureHeader, webhooks.SignQualpay(body, "qpwebhooksecret1"))
		hres, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(hres.Body)
		hres.Body.Close()
		if hres.StatusCode != 200 {
			t.Fatalf("webhook: %d %s", hres.StatusCode, raw)
		}
		workerfn.LocalQueue(w.env.Env).Wait()
	}
	if dead := workerfn.LocalQueue(w.env.Env).Dead(); len(dead) > 0 {
		t.Fatalf("dead jobs: %+v", dead)
	}

	// The list summary (our stored copy) shows the new expiry and number.
	w.at(t, "GET", "/qualpay/customers?limit=1", nil).JSON(t, &page)
	got := map[string]vault.CardSummary{}
	for _, cs := range page.Data[0].Cards {
		got[cs.CardID] = cs
	}
	if s := got[visa.CardID]; s.ExpDate != "1230" || s.AccountUpdater != "201" {
		t.Errorf("visa summary %+v", s)
	}
	if s := got[mc.CardID]; s.ExpDate != "0931" || s.MaskedNumber != "510510xxxxxx5100" || s.AccountUpdater != "202" {
		t.Errorf("mastercard summary %+v", s)
	}
	// The customer's cards (live) agree.
	var cards struct{ Data []vault.Card }
	w.at(t, "GET", "/qualpay/customers/"+c.CustomerID+"/cards", nil).JSON(t, &cards)
	for _, cd := range cards.Data {
		if cd.CardID == mc.CardID && (cd.ExpDate != "0931" || cd.MaskedNumber != "510510xxxxxx5100") {
			t.Errorf("live card %+v", cd)
		}
	}

	// Applying again (the schedule) finds nothing new.
	var again vault.UpdaterResult
	w.at(t, "POST", "/qualpay/account-updater/apply", nil).JSON(t, &again)
	if again.Requests != 0 || again.CustomersUpdated != 0 {
		t.Errorf("second run %+v", again)
	}

	// The daily schedule: a harvest whose webhook never came is applied by
	// the next pass (the company is due from tomorrow, when it got a customer).
	if _, err := w.fk.RunAccountUpdater(mid, qualpayfake.AccountUpdaterResult{CustomerID: c.CustomerID, CardID: visa.CardID, NewExp: "0133"}); err != nil {
		t.Fatal(err)
	}
	q := workerfn.LocalQueue(w.env.Env)
	if res, err := vaultfn.ScheduleAccountUpdater(context.Background(), w.env.Env, q, time.Now()); err != nil || res.Due != 0 {
		t.Fatalf("today's pass: %+v %v (the webhook's run scheduled tomorrow)", res, err)
	}
	res2, err := vaultfn.ScheduleAccountUpdater(context.Background(), w.env.Env, q, time.Now().AddDate(0, 0, 1))
	if err != nil || res2.Due != 1 || res2.Sent != 1 {
		t.Fatalf("tomorrow's pass: %+v %v", res2, err)
	}
	q.Wait()
	w.at(t, "GET", "/qualpay/customers?limit=1", nil).JSON(t, &page)
	for _, cs := range page.Data[0].Cards {
		if cs.CardID == visa.CardID && cs.ExpDate != "0133" {
			t.Errorf("after the scheduled pass: %+v", cs)
		}
	}

	var summary vault.UpdaterPage[vault.UpdaterSummary]
	want(t, w.at(t, "GET", "/qualpay/account-updater/summary", nil), 200, "")
	w.at(t, "GET", "/qualpay/account-updater/summary", nil).JSON(t, &summary)
	if len(summary.Data) != 2 || summary.Data[1].RequestID != reqID || summary.Data[1].Updated != 2 || summary.Data[1].Status != "COMPLETED" {
		t.Errorf("summary %+v", summary)
	}
	var detail vault.UpdaterPage[vault.UpdaterDetail]
	w.at(t, "GET", "/qualpay/account-updater/detail?count=10", nil).JSON(t, &detail)
	if len(detail.Data) != 3 || detail.Data[0].CustomerID != c.CustomerID || detail.Data[0].NewExpDate != "0133" {
		t.Errorf("detail %+v", detail)
	}
	want(t, w.at(t, "GET", "/qualpay/account-updater/detail?count=1000", nil), 400, "invalid_request")
	if v := w.fk.Violations(); len(v) > 0 {
		t.Fatalf("contract violations: %v", v)
	}
}

// TestAccountUpdaterIndexBackfill: a customer stored before the card index
// existed gets its cards indexed on its next read, so later Account Updater
// results reach it.
func TestAccountUpdaterIndexBackfill(t *testing.T) {
	w := localWorld(t)
	ctx := context.Background()
	var c vault.Customer
	w.at(t, "POST", "/qualpay/customers", `{"customer_id":"OLD1","first_name":"Jane","last_name":"Baker"}`).JSON(t, &c)
	var card vault.Card
	w.at(t, "POST", "/qualpay/customers/OLD1/cards", cardBody(w.token(t, "4111111111111111", "1226"))).JSON(t, &card)

	// As written before the index: no VAULTCARD# item, no cards_indexed flag.
	pk := store.CompanyPK(w.pid, w.co)
	if err := w.env.Store.Delete(ctx, pk, "VAULTCARD#"+card.CardID); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := w.env.Store.Get(ctx, pk, "VAULTCUST#OLD1", &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "cards_indexed")
	if err := w.env.Store.Put(ctx, raw); err != nil {
		t.Fatal(err)
	}

	want(t, w.at(t, "GET", "/qualpay/customers/OLD1", nil), 200, "") // the read that backfills
	if _, err := w.fk.RunAccountUpdater(mid, qualpayfake.AccountUpdaterResult{CustomerID: "OLD1", CardID: card.CardID, NewExp: "1231"}); err != nil {
		t.Fatal(err)
	}
	var res vault.UpdaterResult
	w.at(t, "POST", "/qualpay/account-updater/apply", nil).JSON(t, &res)
	if res.CustomersUpdated != 1 || res.UnknownCards != 0 {
		t.Fatalf("apply %+v", res)
	}
}

// TestAccountUpdaterRunLimit: a run applies at most maxUpdaterRows results
// (lowered to 5 here; 20,000 in production), cut between requests: a change
// reported after the limit inside a request is still applied, in the same run
// when that request alone is over the limit, or in the next one; the cursor
// never passes results that were not read.
func TestAccountUpdaterRunLimit(t *testing.T) {
	defer vault.SetMaxUpdaterRows(5)()
	w := localWorld(t)
	var c vault.Customer
	w.at(t, "POST", "/qualpay/customers", `{"first_name":"Jane","last_name":"Baker"}`).JSON(t, &c)
	var cards []vault.Card
	for _, pan := range []string{"4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4012888888881881", "5105105105105100", "4242424242424242"} {
		var cd vault.Card
		res := w.at(t, "POST", "/qualpay/customers/"+c.CustomerID+"/cards", cardBody(w.token(t, pan, "1226")))
		want(t, res, 201, "")
		res.JSON(t, &cd)
		cards = append(cards, cd)
	}
	// harvest reports cards[from:to], the last one with a new expiry.
	harvest := func(t *testing.T, from, to int, newExp string) {
		t.Helper()
		var results []qualpayfake.AccountUpdaterResult
		for i := from; i < to; i++ {
			r := qualpayfake.AccountUpdaterResult{CustomerID: c.CustomerID, CardID: cards[i].CardID, Reason: "200"} // no change
			if i == to-1 {
				r = qualpayfake.AccountUpdaterResult{CustomerID: c.CustomerID, CardID: cards[i].CardID, NewExp: newExp}
			}
			results = append(results, r)
		}
		if _, err := w.fk.RunAccountUpdater(mid, results...); err != nil {
			t.Fatal(err)
		}
	}
	// summary is card i in the customer's stored summary.
	summary := func(t *testing.T, i int) vault.CardSummary {
		t.Helper()
		var page struct{ Data []vault.Summary }
		w.at(t, "GET", "/qualpay/customers?limit=1", nil).JSON(t, &page)
		for _, cs := range page.Data[0].Cards {
			if cs.CardID == cards[i].CardID {
				return cs
			}
		}
		t.Fatalf("card %d not in the summary", i)
		return vault.CardSummary{}
	}
	apply := func(t *testing.T) vault.UpdaterResult {
		t.Helper()
		res := w.at(t, "POST", "/qualpay/account-updater/apply", nil)
		want(t, res, 200, "")
		var r vault.UpdaterResult
		res.JSON(t, &r)
		return r
	}
	t.Run("one request over the limit is applied whole", func(t *testing.T) {
		harvest(t, 0, 7, "1230")
		if r, cs := apply(t), summary(t, 6); r.Requests != 1 || r.CardsChanged != 1 || cs.ExpDate != "1230" || cs.AccountUpdater != "201" {
			t.Fatalf("run %+v, card %+v, want expiry 1230 by result 201", r, cs)
		}
	})
	t.Run("two requests over the limit: the second waits for the next run", func(t *testing.T) {
		harvest(t, 0, 3, "0131")
		harvest(t, 3, 6, "0232")
		if r, cs := apply(t), summary(t, 2); r.Requests != 1 || cs.ExpDate != "0131" || summary(t, 5).AccountUpdater != "" {
			t.Fatalf("first run %+v, card 2 %+v card 5 %+v: want only the first request applied", r, cs, summary(t, 5))
		}
		if r, cs := apply(t), summary(t, 5); r.Requests != 1 || cs.ExpDate != "0232" || cs.AccountUpdater != "201" {
			t.Fatalf("second run %+v, card 5 %+v, want expiry 0232 by result 201", r, cs)
		}
		if r := apply(t); r.Requests != 0 {
			t.Fatalf("third run %+v, want nothing left", r)
		}
	})
}
