package webhooks_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
)

func (w *world) createInvoice(t testing.TB, ext, number string) invoices.Invoice {
	t.Helper()
	res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+w.cid+"/invoices", w.key, map[string]any{
		"external_id": ext, "number": number, "customer": "Cafe " + number, "amount": 100000, "currency": "usd",
		"issued_at": "2026-11-01", "due_at": "2026-11-30"})
	if res.Status != 201 {
		t.Fatalf("create invoice: %d %s", res.Status, res.Body)
	}
	var inv invoices.Invoice
	res.JSON(t, &inv)
	return inv
}

func paymentIntent(id string, status string, amount int64, md map[string]string, method string) map[string]any {
	received := int64(0)
	if status == "succeeded" {
		received = amount
	}
	return map[string]any{"id": id, "object": "payment_intent", "amount": amount, "amount_received": received,
		"currency": "usd", "status": status, "customer": "cus_" + id[3:], "metadata": md,
		"payment_method_types": []string{method}, "latest_charge": "ch_" + id[3:], "created": time.Now().Unix()}
}

func payout(id, status string, amount int64) map[string]any {
	return map[string]any{"id": id, "object": "payout", "amount": amount, "currency": "usd", "status": status,
		"automatic": true, "arrival_date": time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Unix(), "created": time.Now().Unix(),
		"statement_descriptor": "STRIPE PAYOUT", "method": "standard", "type": "bank_account"}
}

// workedExample creates four invoices and returns the example's events; the
// payments name their invoices in the three ways partners do.
func (w *world) workedExample(t *testing.T) ([][]byte, []invoices.Invoice) {
	var invs []invoices.Invoice
	var md [4]map[string]string
	for i := 1; i <= 4; i++ {
		inv := w.createInvoice(t, "ext-"+itoa(i), "INV-000"+itoa(i))
		invs = append(invs, inv)
		md[i-1] = map[string]string{"invoice_id": inv.ID}
	}
	md[1] = map[string]string{"invoice_id": invs[1].ExternalID}
	md[2] = map[string]string{"invoice_number": invs[2].Number}
	evs, txns := example.WorkedExample(acct, md, time.Now())
	w.fake.Set(acct, example.PayoutID, txns)
	return evs, invs
}

func TestWorkedExample(t *testing.T) {
	w := newWorld(t)
	evs, invs := w.workedExample(t)
	for _, ev := range evs {
		if r := w.deliver(t, ev); r.status != 200 || r.res.Duplicate {
			t.Fatalf("deliver: %d %s", r.status, r.body)
		}
	}
	w.queue.Wait()
	snapshot := func() string {
		a := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/invoices", w.key, nil)
		b := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/payouts", w.key, nil)
		c := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/payments", w.key, nil)
		return string(a.Body) + string(b.Body) + string(c.Body)
	}
	t.Run("four invoices paid", func(t *testing.T) {
		res := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/invoices?status=paid", w.key, nil)
		var page struct{ Data []invoices.Invoice }
		res.JSON(t, &page)
		if len(page.Data) != 4 {
			t.Fatalf("paid invoices = %d: %s", len(page.Data), res.Body)
		}
		for _, inv := range page.Data {
			if inv.AmountPaid != 100000 || inv.PaymentID == "" || inv.PaidAt == nil {
				t.Errorf("invoice %s: %+v", inv.ID, inv)
			}
		}
		_ = invs
	})
	t.Run("payout itemised to 3890.00", func(t *testing.T) {
		res := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/payouts", w.key, nil)
		var page struct{ Data []payouts.Payout }
		res.JSON(t, &page)
		if len(page.Data) != 1 {
			t.Fatalf("payouts: %s", res.Body)
		}
		p := page.Data[0]
		if strings.Contains(string(res.Body), `"items"`) {
			t.Fatalf("the payouts list inlines items: %s", res.Body)
		}
		var items struct{ Data []payouts.Item }
		testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/payouts/"+p.ID+"/items", w.key, nil).JSON(t, &items)
		p.Items = items.Data
		if p.Status != "paid" || p.Amount != 389000 || p.ItemisationStatus != payouts.ItemisationComplete || len(p.Items) != 5 || p.ItemCount != 5 {
			t.Fatalf("payout: %+v", p)
		}
		if got := payouts.SumNet(p.Items); got != 389000 {
			t.Fatalf("items sum to %d", got)
		}
		types := map[string]int{}
		var fees int64
		for _, it := range p.Items {
			types[it.Type]++
			fees += it.Fee
			if it.Type == payouts.ItemCharge && it.InvoiceID == "" {
				t.Errorf("charge item %s not linked to its invoice", it.SourceID)
			}
		}
		if types[payouts.ItemCharge] != 4 || types[payouts.ItemClimate] != 1 || fees != 10000 {
			t.Fatalf("types %v fees %d", types, fees)
		}
		if p.ArrivalDate == "" || p.Descriptor != "STRIPE PAYOUT" || p.ID != example.PayoutID {
			t.Fatalf("payout fields: %+v", p)
		}
		// every page was fetched on the connected account
		calls := w.fake.Calls()
		for _, c := range calls {
			if !strings.Contains(c, "account="+acct) || !strings.Contains(c, "payout="+example.PayoutID) {
				t.Fatalf("balance transactions call %q", c)
			}
		}
		if len(calls) < 6 { // 6 lines, 2 per page, fetched twice (paid + reconciliation_completed)
			t.Fatalf("pages fetched: %d", len(calls))
		}
	})
	t.Run("payments carry gross fee net", func(t *testing.T) {
		res := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/payments", w.key, nil)
		var page struct{ Data []payments.Payment }
		res.JSON(t, &page)
		if len(page.Data) != 4 {
			t.Fatalf("payments: %s", res.Body)
		}
		for _, p := range page.Data {
			if p.Gross != 100000 || p.Fee != 2500 || p.Net != 97500 || !p.FeeKnown || p.Currency != "USD" ||
				p.Method != "card" || p.InvoiceID == "" || p.Status != "succeeded" || p.Customer == "" || p.ChargeID == "" {
				t.Errorf("payment %+v", p)
			}
		}
	})
	t.Run("other partners see nothing", func(t *testing.T) {
		_, other := w.env.Partner("Other")
		for _, p := range []string{"/invoices", "/payments", "/payouts", "/payouts/" + example.PayoutID} {
			if res := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+p, other, nil); res.Status != 404 {
				t.Fatalf("%s as another partner: %d", p, res.Status)
			}
		}
	})
	t.Run("hook told once per payment", func(t *testing.T) {
		if w.hook.n() != 4 {
			t.Fatalf("hook calls = %d", w.hook.n())
		}
	})
	t.Run("replaying every event changes nothing", func(t *testing.T) {
		before := snapshot()
		for _, ev := range evs {
			if r := w.deliver(t, ev); r.status != 200 || !r.res.Duplicate {
				t.Fatalf("replay: %d %s", r.status, r.body)
			}
		}
		w.queue.Wait()
		if after := snapshot(); after != before {
			t.Fatalf("replay changed state:\n%s\n%s", before, after)
		}
		if w.hook.n() != 4 {
			t.Fatalf("hook calls after replay = %d", w.hook.n())
		}
	})
}

func TestCommonPathWrites(t *testing.T) {
	w := newWorld(t)
	inv := w.createInvoice(t, "ext-w", "INV-W")
	ev := event("evt_w1", "payment_intent.succeeded", acct, time.Now().Unix(), paymentIntent("pi_w1", "succeeded", 100000, map[string]string{"invoice_id": inv.ID}, "card"))
	before := w.writes.n.Load()
	if r := w.deliver(t, ev); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// Marker + payment + invoice commit in one transaction: one write request.
	if n := w.writes.n.Load() - before; n != 1 {
		t.Fatalf("payment with invoice took %d DynamoDB writes, want 1 (at most 2)", n)
	}
	// A duplicate writes nothing (the failed conditional write is the only request).
	before = w.writes.n.Load()
	w.deliver(t, ev)
	if n := w.writes.n.Load() - before; n > 1 {
		t.Fatalf("duplicate took %d writes", n)
	}
	// A payout event: its transaction, then one for reconciliation's change index.
	before = w.writes.n.Load()
	if r := w.deliver(t, event("evt_w2", "payout.created", acct, time.Now().Unix(), payout("po_w", "pending", 5))); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if n := w.writes.n.Load() - before; n > 2 {
		t.Fatalf("payout event took %d writes", n)
	}
}

func TestConcurrentDuplicates(t *testing.T) {
	w := newWorld(t)
	inv := w.createInvoice(t, "ext-c", "INV-C")
	ev := event("evt_conc", "payment_intent.succeeded", acct, time.Now().Unix(), paymentIntent("pi_conc", "succeeded", 100000, map[string]string{"invoice_id": inv.ID}, "card"))
	header := sign(ev, whsec, time.Now())
	var wg sync.WaitGroup
	results := make([]resp, 20)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = post(t, w.srv.URL+"/stripe", ev, "Stripe-Signature", header)
		}(i)
	}
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if r.status != 200 {
			t.Fatalf("concurrent delivery: %d %s", r.status, r.body)
		}
		if !r.res.Duplicate {
			fresh++
		}
	}
	if fresh != 1 || w.hook.n() != 1 {
		t.Fatalf("applied %d times, hook called %d times; want exactly one effect", fresh, w.hook.n())
	}
	got := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/invoices/"+inv.ID, w.key, nil)
	if !strings.Contains(string(got.Body), `"status":"paid"`) {
		t.Fatalf("invoice: %s", got.Body)
	}
	// The 19 losers' transactions failed on their conditions: no event of theirs.
	outboxtest.One(t, w.env.Store, w.pid, w.cid, outbox.InvoicePaid, inv.ID, got.Body)
}

func TestOutOfOrder(t *testing.T) {
	w := newWorld(t)
	now := time.Now().Unix()
	get := func() payouts.Payout {
		p, err := w.svc.Payouts.Get(context.Background(), w.pid, w.cid, "po_ooo")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	w.fake.Set(acct, "po_ooo", []map[string]any{bt("txn_a", "charge", "charge", 1000, 30, "ch_a")})
	if r := w.deliver(t, event("evt_o1", "payout.paid", acct, now, payout("po_ooo", "paid", 970))); r.status != 200 {
		t.Fatal(string(r.body))
	}
	w.queue.Wait()
	// Older events arriving late never move the payout back.
	for i, st := range []string{"in_transit", "pending"} {
		r := w.deliver(t, event("evt_o_late"+itoa(i), "payout.updated", acct, now-int64(10*(i+1)), payout("po_ooo", st, 970)))
		if r.status != 200 || r.res.Outcome != "stale" {
			t.Fatalf("late %s: %d %s", st, r.status, r.body)
		}
	}
	if p := get(); p.Status != "paid" || p.ItemisationStatus != payouts.ItemisationComplete || p.ItemCount != 1 {
		t.Fatalf("payout regressed: %+v", p)
	}
	// A later failure does move it (failed outranks paid).
	if r := w.deliver(t, event("evt_o_fail", "payout.failed", acct, now+5, func() map[string]any {
		p := payout("po_ooo", "failed", 970)
		p["failure_code"] = "account_closed"
		p["failure_balance_transaction"] = "txn_reversal"
		return p
	}())); r.status != 200 || r.res.Outcome != "applied" {
		t.Fatalf("failed: %s", r.body)
	}
	if p := get(); p.Status != "failed" || p.FailureCode != "account_closed" || p.ReversalID != "txn_reversal" || p.ItemisationStatus != payouts.ItemisationComplete {
		t.Fatalf("failed payout: %+v", p)
	}
	// Payments too: processing after succeeded does not undo paid.
	inv := w.createInvoice(t, "ext-o", "INV-O")
	md := map[string]string{"invoice_id": inv.ID}
	w.deliver(t, event("evt_p_ok", "payment_intent.succeeded", acct, now, paymentIntent("pi_o", "succeeded", 100000, md, "us_bank_account")))
	if r := w.deliver(t, event("evt_p_proc", "payment_intent.processing", acct, now-100, paymentIntent("pi_o", "processing", 100000, md, "us_bank_account"))); r.res.Outcome != "stale" {
		t.Fatalf("late processing: %s", r.body)
	}
	p, err := w.svc.Payments.Get(context.Background(), w.pid, w.cid, "pi_o")
	if err != nil || p.Status != "succeeded" {
		t.Fatalf("payment: %+v %v", p, err)
	}
	got, _ := w.svc.Invoices.Get(context.Background(), w.pid, w.cid, inv.ID)
	if got.Status != invoices.StatusPaid {
		t.Fatalf("invoice %s", got.Status)
	}
	// A refund that overtakes its payment: the later-arriving payment's facts
	// still merge, its older status does not apply; an older partial refund is ignored.
	refund := func(id string, at, amount int64, full bool) []byte {
		return event(id, "charge.refunded", acct, at, map[string]any{"id": "ch_r", "object": "charge", "amount": 5000,
			"amount_refunded": amount, "refunded": full, "currency": "usd", "payment_intent": "pi_r"})
	}
	if r := w.deliver(t, refund("evt_r_full", now+50, 5000, true)); r.res.Outcome != "applied" {
		t.Fatalf("refund: %s", r.body)
	}
	if r := w.deliver(t, event("evt_r_pi", "payment_intent.succeeded", acct, now, paymentIntent("pi_r", "succeeded", 5000, nil, "card"))); r.status != 200 || r.res.Outcome != "stale" {
		t.Fatalf("late payment: %d %s", r.status, r.body)
	}
	if r := w.deliver(t, refund("evt_r_part", now+40, 2000, false)); r.status != 200 || r.res.Outcome != "stale" {
		t.Fatalf("older partial refund: %d %s", r.status, r.body)
	}
	pr, _ := w.svc.Payments.Get(context.Background(), w.pid, w.cid, "pi_r")
	if pr.Status != payments.StatusRefunded || pr.AmountRefunded != 5000 || pr.Gross != 5000 || pr.Customer != "cus_r" || pr.Method != "card" {
		t.Fatalf("merged payment %+v", pr)
	}
}

func TestACHProcessingThenPaid(t *testing.T) {
	w := newWorld(t)
	inv := w.createInvoice(t, "ext-ach", "INV-ACH")
	md := map[string]string{"invoice_id": inv.ID}
	now := time.Now().Unix()
	w.deliver(t, event("evt_a1", "payment_intent.processing", acct, now, paymentIntent("pi_ach", "processing", 100000, md, "us_bank_account")))
	got, _ := w.svc.Invoices.Get(context.Background(), w.pid, w.cid, inv.ID)
	if got.Status != invoices.StatusProcessing {
		t.Fatalf("after processing: %s", got.Status)
	}
	w.deliver(t, event("evt_a2", "payment_intent.succeeded", acct, now+1, paymentIntent("pi_ach", "succeeded", 100000, md, "us_bank_account")))
	got, _ = w.svc.Invoices.Get(context.Background(), w.pid, w.cid, inv.ID)
	if got.Status != invoices.StatusPaid {
		t.Fatalf("after succeeded: %s", got.Status)
	}
	p, _ := w.svc.Payments.Get(context.Background(), w.pid, w.cid, "pi_ach")
	if p.Method != "us_bank_account" || p.Status != "succeeded" {
		t.Fatalf("payment %+v", p)
	}
	// Refund and dispute facts merge into the same payment.
	w.deliver(t, event("evt_a3", "charge.refunded", acct, now+2, map[string]any{"id": "ch_ach", "object": "charge", "amount": 100000,
		"amount_refunded": 40000, "refunded": false, "currency": "usd", "payment_intent": "pi_ach"}))
	w.deliver(t, event("evt_a4", "charge.dispute.created", acct, now+3, map[string]any{"id": "dp_1", "object": "dispute", "amount": 60000,
		"charge": "ch_ach", "payment_intent": "pi_ach", "status": "needs_response", "currency": "usd"}))
	p, _ = w.svc.Payments.Get(context.Background(), w.pid, w.cid, "pi_ach")
	if p.Status != payments.StatusPartiallyRefunded || p.AmountRefunded != 40000 || p.DisputeID != "dp_1" || p.DisputeStatus != "needs_response" || p.Gross != 100000 {
		t.Fatalf("payment after refund/dispute %+v", p)
	}
}

func TestRejectedDeliveries(t *testing.T) {
	w := newWorld(t)
	good := event("evt_r1", "payment_intent.succeeded", acct, time.Now().Unix(), paymentIntent("pi_r1", "succeeded", 500, nil, "card"))
	tests := []struct {
		name   string
		path   string
		body   []byte
		header string
		status int
	}{
		{"missing signature", "/stripe", good, "", 400},
		{"garbage signature", "/stripe", good, "t=1,v1=zz", 400},
		{"wrong secret", "/stripe", good, sign(good, "whsec_wrong0000000", time.Now()), 400},
		{"tampered body", "/stripe", []byte(strings.Replace(string(good), `"amount":500`, `"amount":900`, 1)), sign(good, whsec, time.Now()), 400},
		{"stale timestamp", "/stripe", good, sign(good, whsec, time.Now().Add(-6*time.Minute)), 400},
		{"unknown account", "/stripe", event("evt_r2", "payment_intent.succeeded", "acct_unknown000001", time.Now().Unix(), map[string]any{"id": "pi_x"}), "", 400},
		{"not json", "/stripe", []byte("not json"), "", 400},
		{"no account on shared url", "/stripe", event("evt_r3", "payout.paid", "", time.Now().Unix(), map[string]any{"id": "po_x"}), "", 400},
		{"oversized", "/stripe", []byte(`{"account":"` + acct + `","pad":"` + strings.Repeat("x", 1<<20) + `"}`), "", 413},
		{"unknown partner path", "/stripe/ptr_nobody", event("evt_r4", "payout.paid", "", time.Now().Unix(), map[string]any{"id": "po_x"}), "", 400},
		{"other partner's account on partner path", "/stripe/ptr_other", good, "", 400},
	}
	before := w.writes.n.Load()
	uniform := map[string]bool{} // every unauthenticated failure answers the same bytes
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == "" {
				h = sign(tc.body, whsec, time.Now())
				if tc.name == "missing signature" {
					h = ""
				}
			}
			r := post(t, w.srv.URL+tc.path, tc.body, "Stripe-Signature", h)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.status == 400 {
				uniform[string(r.body)] = true
			}
		})
	}
	if n := w.writes.n.Load() - before; n != 0 {
		t.Fatalf("rejected deliveries wrote %d times", n)
	}
	if len(uniform) != 1 {
		t.Fatalf("unauthenticated failures are told apart by their answers: %v", uniform)
	}
	t.Run("malformed event after a valid signature is recorded as rejected, 200", func(t *testing.T) {
		body := []byte(`{"account":"` + acct + `","id":42,"type":["x"]}`)
		r := post(t, w.srv.URL+"/stripe", body, "Stripe-Signature", sign(body, whsec, time.Now()))
		if r.status != 200 || r.res.Outcome != "rejected" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// A redelivery is a duplicate, not a second rejection.
		if r := post(t, w.srv.URL+"/stripe", body, "Stripe-Signature", sign(body, whsec, time.Now())); r.status != 200 || !r.res.Duplicate {
			t.Fatalf("redelivery %d %s", r.status, r.body)
		}
	})
	t.Run("unknown type is recorded and ignored", func(t *testing.T) {
		r := w.deliver(t, event("evt_r5", "customer.created", acct, time.Now().Unix(), map[string]any{"id": "cus_1"}))
		if r.status != 200 || r.res.Outcome != "ignored" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("unknown type with an unmodelled object shape is ignored", func(t *testing.T) {
		r := w.deliver(t, event("evt_r7", "issuing_card.created", acct, time.Now().Unix(), map[string]any{"id": "ic_1", "status": map[string]any{"x": 1}, "amount": "n/a"}))
		if r.status != 200 || r.res.Outcome != "ignored" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// The same shape on a type we handle can never be processed: rejected, 200.
		r = w.deliver(t, event("evt_r8", "payout.paid", acct, time.Now().Unix(), map[string]any{"id": "po_1", "amount": "n/a"}))
		if r.status != 200 || r.res.Outcome != "rejected" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("an event ID over the key size is rejected, 200, and the partner sees why", func(t *testing.T) {
		long := "evt_" + strings.Repeat("9", 300)
		r := w.deliver(t, event(long, "payout.paid", acct, time.Now().Unix(), map[string]any{"id": "po_2"}))
		if r.status != 200 || r.res.Outcome != "rejected" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		res := testenv.Do(t, "GET", w.env.Server("credentials").URL+"/v1/integrations/stripe/webhook-rejections", w.key, nil)
		var list struct {
			Data []struct{ EventID, Type, Reason string }
		}
		res.JSON(t, &list)
		if res.Status != 200 || len(list.Data) != 3 || !strings.Contains(list.Data[0].Reason, "longer than 255") || list.Data[0].Type != "payout.paid" {
			t.Fatalf("rejections: %d %s", res.Status, res.Body)
		}
	})
	t.Run("platform event on partner path", func(t *testing.T) {
		body := event("evt_r6", "balance.available", "", time.Now().Unix(), map[string]any{"object": "balance"})
		r := post(t, w.srv.URL+"/stripe/"+w.pid, body, "Stripe-Signature", sign(body, whsec, time.Now()))
		if r.status != 200 || r.res.Outcome != "ignored" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	if logs := w.env.Logs.String(); strings.Contains(logs, whsec) || strings.Contains(logs, "sk_test_123abc456def") {
		t.Fatal("a secret reached the logs")
	}
}

func TestDeauthorized(t *testing.T) {
	w := newWorld(t)
	r := w.deliver(t, event("evt_d1", "account.application.deauthorized", acct, time.Now().Unix(), map[string]any{"id": "ca_1234567890abcdef", "object": "application"}))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if _, err := w.env.Companies.LookupRoute(context.Background(), "stripe", acct); err == nil {
		t.Fatal("connection still routed after deauthorization")
	}
	// Later events for the account are now unknown.
	if r := w.deliver(t, event("evt_d2", "payout.paid", acct, time.Now().Unix(), payout("po_d", "paid", 1))); r.status != 400 {
		t.Fatalf("after deauth: %d", r.status)
	}
}

func TestItemisationIncompleteAndStripeMock(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// Lines that do not add up to the payout: flagged, not hidden.
	w.fake.Set(acct, "po_short", []map[string]any{bt("txn_s1", "charge", "charge", 10000, 320, "ch_s1")})
	w.deliver(t, event("evt_s1", "payout.paid", acct, time.Now().Unix(), payout("po_short", "paid", 20000)))
	w.queue.Wait()
	p, err := w.svc.Payouts.Get(ctx, w.pid, w.cid, "po_short")
	if err != nil || p.ItemisationStatus != payouts.ItemisationIncomplete || p.ItemCount != 1 {
		t.Fatalf("short payout: %+v %v", p, err)
	}
	// A payout Stripe will not itemise (manual): flagged, not retried forever.
	w.fake.Refuse(acct, "po_manual")
	w.deliver(t, event("evt_s3", "payout.paid", acct, time.Now().Unix(), payout("po_manual", "paid", 500)))
	w.queue.Wait()
	if p, err := w.svc.Payouts.Get(ctx, w.pid, w.cid, "po_manual"); err != nil || p.ItemisationStatus != payouts.ItemisationIncomplete {
		t.Fatalf("manual payout: %+v %v", p, err)
	}
	// Against stripe-mock itself (its fixture balance transaction): the real
	// client path, response shapes and the Stripe-Account header all work.
	if _, err := w.svc.Payouts.Get(ctx, w.pid, w.cid, "po_mock"); err == nil {
		t.Fatal("unexpected payout")
	}
	w.deliver(t, event("evt_s2", "payout.created", acct, time.Now().Unix(), payout("po_mock", "pending", 100)))
	worker := appWorker(w)
	status, err := worker.ItemiseStripePayout(ctx, w.pid, w.cid, acct, "po_mock")
	if err != nil {
		t.Fatalf("itemise against stripe-mock: %v", err)
	}
	items, err := w.svc.Payouts.Items(ctx, w.pid, w.cid, "po_mock")
	if err != nil || len(items) == 0 || status == "" {
		t.Fatalf("stripe-mock items: %v %v %s", items, err, status)
	}
}

// TestExampleThroughTemplateRoutes plays the example as `make run` would: every
// function mounted on template.yaml's routes, the in-process work queue, and
// example.Run; then plays it again and nothing changes.
func TestExampleThroughTemplateRoutes(t *testing.T) {
	w := newWorld(t)
	srv := w.env.Server()
	ctx := context.Background()
	snapshot := func() (string, []payouts.Payout, []invoices.Invoice) {
		workerfn.LocalQueue(w.env.Env).Wait()
		var pos struct{ Data []payouts.Payout }
		var invs struct{ Data []invoices.Invoice }
		a := testenv.Do(t, "GET", srv.URL+"/v1/companies/"+w.cid+"/payouts", w.key, nil)
		b := testenv.Do(t, "GET", srv.URL+"/v1/companies/"+w.cid+"/invoices?status=paid", w.key, nil)
		a.JSON(t, &pos)
		b.JSON(t, &invs)
		return string(a.Body) + string(b.Body), pos.Data, invs.Data
	}
	if _, err := example.Run(ctx, http.DefaultClient, srv.URL, w.key, w.cid, acct, whsec, w.fake, time.Now()); err != nil {
		t.Fatal(err)
	}
	before, pos, invs := snapshot()
	if len(invs) != 4 || len(pos) != 1 || pos[0].Amount != example.PayoutAmount || pos[0].ItemCount != 5 ||
		pos[0].ItemisationStatus != payouts.ItemisationComplete {
		t.Fatalf("after the example: %s", before)
	}
	if _, err := example.Run(ctx, http.DefaultClient, srv.URL, w.key, w.cid, acct, whsec, w.fake, time.Now()); err != nil {
		t.Fatal(err)
	}
	if after, _, _ := snapshot(); after != before {
		t.Fatalf("replay changed state:\n%s\n%s", before, after)
	}
}

type transferCall struct {
	partner, typ, id string
	meta             map[string]string
	reversed         bool
}

type recordingTransfers struct {
	mu    sync.Mutex
	calls []transferCall
}

func (r *recordingTransfers) TransferEvent(_ context.Context, pid, typ, id string, md map[string]string, reversed bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, transferCall{pid, typ, id, md, reversed})
	return nil
}

// TestTransferEventsReachSplits: transfer.* platform events on /stripe/{partner_id}
// are verified, deduplicated and handed to the transfer hook once.
func TestTransferEventsReachSplits(t *testing.T) {
	w := newWorld(t)
	rec := &recordingTransfers{}
	w.svc.Transfers = rec
	tr := map[string]any{"id": "tr_1", "object": "transfer", "amount": 52500, "currency": "eur", "reversed": true,
		"metadata": map[string]any{"payrecon_intent": "pi_x"}}
	body := event("evt_tr1", "transfer.reversed", "", time.Now().Unix(), tr)
	for i := 0; i < 2; i++ { // the redelivery has no second effect
		r := post(t, w.srv.URL+"/stripe/"+w.pid, body, "Stripe-Signature", sign(body, whsec, time.Now()))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	calls := func() []transferCall {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return append([]transferCall(nil), rec.calls...)
	}
	if n := len(calls()); n != 1 {
		t.Fatalf("%d hook calls", n)
	}
	c := calls()[0]
	if c.partner != w.pid || c.typ != "transfer.reversed" || c.id != "tr_1" || !c.reversed || c.meta["payrecon_intent"] != "pi_x" {
		t.Fatalf("call %+v", c)
	}
	// A transfer event from a connected account is not a platform event: ignored.
	body = event("evt_tr2", "transfer.created", acct, time.Now().Unix(), tr)
	if r := w.deliver(t, body); r.status != 200 || len(calls()) != 1 {
		t.Fatalf("connected-account transfer: %d, %d calls", r.status, len(calls()))
	}
}

// TestAccountUpdatedActivatesOnboarding: a pending connection (made by "Create
// a Stripe account") becomes active only on a verified account.updated from
// the partner's Connect endpoint that says the account can charge or has
// submitted its details.
func TestAccountUpdatedActivatesOnboarding(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const newAcct = "acct_1NewShopPending01"
	co, _, err := w.env.Companies.Create(ctx, w.pid, "new-shop", "New Shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.env.Companies.Connect(ctx, companies.Connection{PartnerID: w.pid, CompanyID: co.ID, Provider: "stripe",
		AccountID: newAcct, Method: "onboarding", Status: companies.StatusPending, ConnectedAt: w.env.Now()}); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		c, err := w.env.Companies.Connection(ctx, w.pid, co.ID, "stripe")
		if err != nil {
			t.Fatal(err)
		}
		return c.Status
	}
	account := func(charges, details bool) map[string]any {
		return map[string]any{"id": newAcct, "object": "account", "type": "express", "charges_enabled": charges, "details_submitted": details}
	}
	for _, tc := range []struct {
		name, path, id string
		obj            map[string]any
		want           string
	}{
		{"on the platform endpoint: ignored", "/stripe/" + w.pid, "evt_au1", account(true, true), companies.StatusPending},
		{"onboarding not finished: stays pending", "/stripe/" + w.pid + "/connect", "evt_au2", account(false, false), companies.StatusPending},
		{"details submitted: active", "/stripe/" + w.pid + "/connect", "evt_au3", account(false, true), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := event(tc.id, "account.updated", newAcct, time.Now().Unix(), tc.obj)
			if r := post(t, w.srv.URL+tc.path, body, "Stripe-Signature", sign(body, whsec, time.Now())); r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if got := status(); got != tc.want {
				t.Fatalf("status %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("announced when it activates, not while pending", func(t *testing.T) {
		res := testenv.Do(t, "GET", w.env.Server().URL+"/v1/companies/"+co.ID+"/connections", w.key, nil)
		outboxtest.One(t, w.env.Store, w.pid, co.ID, outbox.ConnectionCreated, newAcct, listed(t, res.Body))
		body := event("evt_au3", "account.updated", newAcct, time.Now().Unix(), account(true, true))
		post(t, w.srv.URL+"/stripe/"+w.pid+"/connect", body, "Stripe-Signature", sign(body, whsec, time.Now())) // replayed
		body = event("evt_au3b", "account.updated", newAcct, time.Now().Unix(), account(true, true))
		post(t, w.srv.URL+"/stripe/"+w.pid+"/connect", body, "Stripe-Signature", sign(body, whsec, time.Now())) // already active
		outboxtest.Count(t, w.env.Store, w.pid, outbox.ConnectionCreated, newAcct, 1)
	})
	t.Run("a bad signature changes nothing", func(t *testing.T) {
		if _, err := w.env.Companies.Disconnect(ctx, w.pid, co.ID, "stripe"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.env.Companies.Connect(ctx, companies.Connection{PartnerID: w.pid, CompanyID: co.ID, Provider: "stripe",
			AccountID: newAcct, Method: "onboarding", Status: companies.StatusPending, ConnectedAt: w.env.Now()}); err != nil {
			t.Fatal(err)
		}
		body := event("evt_au4", "account.updated", newAcct, time.Now().Unix(), account(true, true))
		if r := post(t, w.srv.URL+"/stripe/"+w.pid+"/connect", body, "Stripe-Signature", sign(body, "whsec_wrong", time.Now())); r.status/100 == 2 {
			t.Fatalf("unsigned accepted: %d", r.status)
		}
		if got := status(); got != companies.StatusPending {
			t.Fatalf("status %q after a bad signature", got)
		}
		outboxtest.Count(t, w.env.Store, w.pid, outbox.ConnectionRevoked, newAcct, 1) // the active one, disconnected
		outboxtest.Count(t, w.env.Store, w.pid, outbox.ConnectionCreated, newAcct, 1)
	})
}
