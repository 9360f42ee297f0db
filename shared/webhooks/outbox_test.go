package webhooks_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
)

// apiGet answers GET path (under the company) through the template's routes.
func (w *world) apiGet(t *testing.T, path string) []byte {
	t.Helper()
	res := testenv.Do(t, "GET", w.env.Server().URL+"/v1/companies/"+w.cid+path, w.key, nil)
	if res.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
	}
	return res.Body
}

// listed returns the first element of a list response's data.
func listed(t *testing.T, body []byte) json.RawMessage {
	t.Helper()
	var page struct{ Data []json.RawMessage }
	if err := json.Unmarshal(body, &page); err != nil || len(page.Data) == 0 {
		t.Fatalf("list: %v %s", err, body)
	}
	return page.Data[0]
}

// TestEventsOfTheWorkedExample: the connection, each invoice paid and the
// payout itemised are announced once, as the API then shows them, and a
// replay of every delivery (or a second itemisation) announces nothing more.
func TestEventsOfTheWorkedExample(t *testing.T) {
	w := newWorld(t)
	st := w.env.Store
	outboxtest.One(t, st, w.pid, w.cid, outbox.ConnectionCreated, acct, listed(t, w.apiGet(t, "/connections")))

	evs, invs := w.workedExample(t)
	for _, ev := range evs {
		if r := w.deliver(t, ev); r.status != 200 {
			t.Fatalf("deliver: %d %s", r.status, r.body)
		}
	}
	w.queue.Wait()
	for _, inv := range invs {
		outboxtest.One(t, st, w.pid, w.cid, outbox.InvoicePaid, inv.ID, w.apiGet(t, "/invoices/"+inv.ID))
	}
	// Itemised twice (payout.paid, then payout.reconciliation_completed), announced once.
	outboxtest.One(t, st, w.pid, w.cid, outbox.PayoutItemised, example.PayoutID, w.apiGet(t, "/payouts/"+example.PayoutID))
	all := len(outboxtest.Events(t, st, w.pid, "", ""))
	if all != 6 { // connection, 4 invoices, payout
		t.Fatalf("%d events", all)
	}

	for _, ev := range evs {
		if r := w.deliver(t, ev); r.status != 200 || !r.res.Duplicate {
			t.Fatalf("replay: %d %s", r.status, r.body)
		}
	}
	// The same facts under a new event ID: the payout is itemised again, to the same result.
	again := example.Event("evt_again_recon", "payout.reconciliation_completed", acct, time.Now().Unix(),
		example.Payout(example.PayoutID, "paid", example.PayoutAmount, time.Now().Add(24*time.Hour)))
	if r := w.deliver(t, again); r.status != 200 {
		t.Fatalf("redelivery: %d %s", r.status, r.body)
	}
	w.queue.Wait()
	outboxtest.Count(t, st, w.pid, "", "", all)
}

// TestEventsOfInvoiceTransitions: partially_paid on the first instalment only,
// paid when the total covers the amount, an overpayment and a payment in
// another currency open one exception each; replays announce nothing.
func TestEventsOfInvoiceTransitions(t *testing.T) {
	w := newWorld(t)
	st := w.env.Store
	inv := w.createInvoice(t, "ext-parts", "INV-PARTS")
	md := map[string]string{"invoice_id": inv.ID}
	now := time.Now().Unix()
	pay := func(evID, piID string, amount int64, currency string) []byte {
		t.Helper()
		pi := paymentIntent(piID, "succeeded", amount, md, "card")
		pi["currency"] = currency
		body := event(evID, "payment_intent.succeeded", acct, now, pi)
		if r := w.deliver(t, body); r.status != 200 {
			t.Fatalf("deliver %s: %d %s", evID, r.status, r.body)
		}
		return body
	}
	pay("evt_p1", "pi_part_1", 40000, "usd")
	outboxtest.One(t, st, w.pid, w.cid, outbox.InvoicePartiallyPaid, inv.ID, w.apiGet(t, "/invoices/"+inv.ID))
	pay("evt_p2", "pi_part_2", 30000, "usd") // still partially paid: nothing to announce
	outboxtest.Count(t, st, w.pid, outbox.InvoicePartiallyPaid, inv.ID, 1)
	outboxtest.Count(t, st, w.pid, outbox.InvoicePaid, inv.ID, 0)
	pay("evt_p3", "pi_part_3", 30000, "usd")
	outboxtest.One(t, st, w.pid, w.cid, outbox.InvoicePaid, inv.ID, w.apiGet(t, "/invoices/"+inv.ID))

	over := pay("evt_p4", "pi_part_4", 5000, "usd")
	x := outboxtest.One(t, st, w.pid, w.cid, outbox.ExceptionOpened, "", listed(t, w.apiGet(t, "/exceptions")))
	if r := w.deliver(t, over); r.status != 200 || !r.res.Duplicate {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	pay("evt_p4_again", "pi_part_4", 5000, "usd") // the same payment under a new event ID
	outboxtest.Count(t, st, w.pid, outbox.ExceptionOpened, "", 1)
	outboxtest.Count(t, st, w.pid, outbox.InvoicePaid, "", 1)

	other := w.createInvoice(t, "ext-eur", "INV-EUR")
	md = map[string]string{"invoice_id": other.ID}
	pay("evt_p5", "pi_eur_1", 100000, "eur")
	outboxtest.Count(t, st, w.pid, outbox.ExceptionOpened, "", 2)
	for _, e := range outboxtest.Events(t, st, w.pid, outbox.ExceptionOpened, "") {
		if e.ObjectID != x.ObjectID {
			var got struct{ Reason string }
			_ = json.Unmarshal([]byte(e.Data), &got)
			if got.Reason != "currency_mismatch" {
				t.Fatalf("second exception: %s", e.Data)
			}
		}
	}
	outboxtest.Count(t, st, w.pid, outbox.InvoicePaid, other.ID, 0)
	outboxtest.Count(t, st, w.pid, outbox.InvoicePartiallyPaid, other.ID, 0)
}

// TestEventsOfDisconnects: DELETE and Stripe's deauthorization each announce
// the connection they removed, once; a repeated DELETE (404) or a replayed
// deauthorization announces nothing.
func TestEventsOfDisconnects(t *testing.T) {
	w := newWorld(t)
	st := w.env.Store
	srv := w.env.Server()
	conn := listed(t, w.apiGet(t, "/connections"))
	if res := testenv.Do(t, "DELETE", srv.URL+"/v1/companies/"+w.cid+"/stripe", w.key, nil); res.Status != 204 {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	outboxtest.One(t, st, w.pid, w.cid, outbox.ConnectionRevoked, acct, conn)
	if res := testenv.Do(t, "DELETE", srv.URL+"/v1/companies/"+w.cid+"/stripe", w.key, nil); res.Status != 404 {
		t.Fatalf("second delete: %d %s", res.Status, res.Body)
	}
	outboxtest.Count(t, st, w.pid, outbox.ConnectionRevoked, acct, 1)

	// Connected again, then deauthorized by the account on Stripe's side.
	if _, _, err := w.env.Companies.Connect(context.Background(), companies.Connection{PartnerID: w.pid, CompanyID: w.cid, Provider: "stripe",
		AccountID: acct, Method: "oauth", ConnectedAt: w.env.Now()}); err != nil {
		t.Fatal(err)
	}
	conn = listed(t, w.apiGet(t, "/connections"))
	outboxtest.Count(t, st, w.pid, outbox.ConnectionCreated, acct, 2)
	deauth := event("evt_deauth", "account.application.deauthorized", acct, time.Now().Unix(), map[string]any{"id": "ca_1234567890abcdef", "object": "application"})
	if r := w.deliver(t, deauth); r.status != 200 {
		t.Fatalf("deauthorize: %d %s", r.status, r.body)
	}
	revoked := outboxtest.Events(t, st, w.pid, outbox.ConnectionRevoked, acct)
	if len(revoked) != 2 {
		t.Fatalf("%d revoked events", len(revoked))
	}
	outboxtest.Equal(t, revoked[1], conn)
	w.deliver(t, deauth) // replayed: a duplicate
	outboxtest.Count(t, st, w.pid, outbox.ConnectionRevoked, acct, 2)
}

// TestConcurrentPaymentsOfOneInvoice: payments of one invoice delivered at
// once. Two full payments both take the unread hot path; one wins, the other's
// guess fails and it is planned again with the read: the invoice is paid once,
// announced once, and the second payment is an overpayment. Four instalments at
// once go through the read path, retried on each other's writes: each counts once.
func TestConcurrentPaymentsOfOneInvoice(t *testing.T) {
	w := newWorld(t)
	st := w.env.Store
	deliverAll := func(t *testing.T, bodies [][]byte) {
		t.Helper()
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, b := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if r := w.deliver(t, b); r.status != 200 || r.res.Outcome != "applied" {
					t.Errorf("deliver: %d %s", r.status, r.body)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	for _, tc := range []struct {
		name    string
		amounts []int64
		paid    int64
		partial int // invoice.partially_paid events
		excs    int // exceptions opened (overpaid)
	}{
		{"two full payments", []int64{100000, 100000}, 200000, 0, 1},
		{"four instalments", []int64{25000, 25000, 25000, 25000}, 100000, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := w.createInvoice(t, "ext-conc-"+itoa(len(tc.amounts)), "INV-CONC-"+itoa(len(tc.amounts)))
			var bodies [][]byte
			for i, a := range tc.amounts {
				id := "conc" + itoa(len(tc.amounts)) + "_" + itoa(i)
				bodies = append(bodies, event("evt_"+id, "payment_intent.succeeded", acct, time.Now().Unix(),
					paymentIntent("pi_"+id, "succeeded", a, map[string]string{"invoice_id": inv.ID}, "card")))
			}
			excs := len(outboxtest.Events(t, st, w.pid, outbox.ExceptionOpened, ""))
			deliverAll(t, bodies)
			api := w.apiGet(t, "/invoices/"+inv.ID)
			var got invoices.Invoice
			if err := json.Unmarshal(api, &got); err != nil || got.Status != invoices.StatusPaid || got.AmountPaid != tc.paid {
				t.Fatalf("invoice %s %v", api, err)
			}
			// The event carries the invoice as the change that paid it left it
			// (an overpayment after it announces nothing).
			paid := outboxtest.One(t, st, w.pid, w.cid, outbox.InvoicePaid, inv.ID, nil)
			var at invoices.Invoice
			if err := json.Unmarshal([]byte(paid.Data), &at); err != nil || at.Status != invoices.StatusPaid || at.AmountPaid != 100000 {
				t.Fatalf("invoice.paid object %s %v", paid.Data, err)
			}
			outboxtest.Count(t, st, w.pid, outbox.InvoicePartiallyPaid, inv.ID, tc.partial)
			outboxtest.Count(t, st, w.pid, outbox.ExceptionOpened, "", excs+tc.excs)
			for _, b := range bodies { // every replay a duplicate
				if r := w.deliver(t, b); r.status != 200 || !r.res.Duplicate {
					t.Fatalf("replay: %d %s", r.status, r.body)
				}
			}
		})
	}
}
