package webhooks_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/testenv"
)

// TestInvoicesFollowTheMoney: signed Stripe events on the local stack move
// invoices by the money actually received (issue 12 §2).
func TestInvoicesFollowTheMoney(t *testing.T) {
	w := newWorld(t)
	now := time.Now().Unix()
	n := 0
	send := func(typ string, obj map[string]any) {
		t.Helper()
		n++
		if r := w.deliver(t, event("evt_inv"+itoa(n), typ, acct, now+int64(n), obj)); r.status != 200 {
			t.Fatalf("%s: %d %s", typ, r.status, r.body)
		}
	}
	get := func(id string) invoices.Invoice {
		t.Helper()
		var inv invoices.Invoice
		testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/invoices/"+id, w.key, nil).JSON(t, &inv)
		return inv
	}
	check := func(inv invoices.Invoice, status string, paid int64) {
		t.Helper()
		got := get(inv.ID)
		if got.Status != status || got.AmountPaid != paid {
			t.Fatalf("invoice %s: %s %d, want %s %d", inv.Number, got.Status, got.AmountPaid, status, paid)
		}
	}
	exceptionsOf := func(reason string) int {
		t.Helper()
		var page struct {
			Data []struct{ Reason, Source string }
		}
		testenv.Do(t, "GET", w.env.Server("reports").URL+"/v1/companies/"+w.cid+"/exceptions", w.key, nil).JSON(t, &page)
		c := 0
		for _, x := range page.Data {
			if x.Reason == reason {
				c++
			}
		}
		return c
	}
	md := func(inv invoices.Invoice) map[string]string { return map[string]string{"invoice_id": inv.ID} }

	t.Run("underpayment", func(t *testing.T) {
		inv := w.createInvoice(t, "u-1", "U-1") // $1,000.00
		send("payment_intent.succeeded", paymentIntent("pi_u1", "succeeded", 100, md(inv), "card"))
		check(inv, invoices.StatusPartiallyPaid, 100)
		send("payment_intent.succeeded", paymentIntent("pi_u2", "succeeded", 99900, md(inv), "card"))
		check(inv, invoices.StatusPaid, 100000)
		// The same payment again (a new event ID) counts once.
		send("payment_intent.succeeded", paymentIntent("pi_u2", "succeeded", 99900, md(inv), "card"))
		check(inv, invoices.StatusPaid, 100000)
	})
	t.Run("overpayment", func(t *testing.T) {
		inv := w.createInvoice(t, "o-1", "O-1")
		send("payment_intent.succeeded", paymentIntent("pi_o1", "succeeded", 120000, md(inv), "card"))
		check(inv, invoices.StatusPaid, 120000)
		if exceptionsOf("overpaid") != 1 {
			t.Fatal("no overpaid exception")
		}
	})
	t.Run("wrong currency", func(t *testing.T) {
		inv := w.createInvoice(t, "c-1", "C-1")
		pi := paymentIntent("pi_c1", "succeeded", 100000, md(inv), "card")
		pi["currency"] = "eur"
		send("payment_intent.succeeded", pi)
		check(inv, invoices.StatusOpen, 0)
		if exceptionsOf("currency_mismatch") != 1 {
			t.Fatal("no currency_mismatch exception")
		}
	})
	t.Run("failed ACH", func(t *testing.T) {
		inv := w.createInvoice(t, "a-1", "A-1")
		send("payment_intent.processing", paymentIntent("pi_a1", "processing", 100000, md(inv), "us_bank_account"))
		check(inv, invoices.StatusProcessing, 0)
		send("payment_intent.payment_failed", paymentIntent("pi_a1", "requires_payment_method", 100000, md(inv), "us_bank_account"))
		check(inv, invoices.StatusOpen, 0)
	})
	t.Run("refunds and a lost dispute", func(t *testing.T) {
		inv := w.createInvoice(t, "r-1", "R-1")
		send("payment_intent.succeeded", paymentIntent("pi_r1", "succeeded", 100000, md(inv), "card"))
		check(inv, invoices.StatusPaid, 100000)
		// Charges of a refund carry no invoice metadata: the payment's invoice is used.
		ch := map[string]any{"id": "ch_r1", "object": "charge", "amount": 100000, "amount_refunded": 40000, "currency": "usd",
			"payment_intent": "pi_r1", "refunded": false, "status": "succeeded"}
		send("charge.refunded", ch)
		check(inv, invoices.StatusPartiallyPaid, 60000)
		send("charge.dispute.closed", map[string]any{"id": "dp_r1", "object": "dispute", "amount": 60000, "currency": "usd",
			"charge": "ch_r1", "payment_intent": "pi_r1", "status": "lost"})
		check(inv, invoices.StatusOpen, 0)
	})
	t.Run("full refund", func(t *testing.T) {
		inv := w.createInvoice(t, "f-1", "F-1")
		send("payment_intent.succeeded", paymentIntent("pi_f1", "succeeded", 100000, md(inv), "card"))
		send("charge.refunded", map[string]any{"id": "ch_f1", "object": "charge", "amount": 100000, "amount_refunded": 100000,
			"currency": "usd", "payment_intent": "pi_f1", "refunded": true, "status": "succeeded"})
		check(inv, invoices.StatusOpen, 0)
	})
}
