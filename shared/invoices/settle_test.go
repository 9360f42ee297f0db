package invoices_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/invoices"
)

// TestSettle: the invoice amount rules, event by event, without storage.
func TestSettle(t *testing.T) {
	at := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	due := invoices.Invoice{ID: "inv_1", Amount: 100000, Currency: "USD", Status: invoices.StatusOpen}
	ok := func(id string, amt int64) invoices.Received {
		return invoices.Received{PaymentID: id, State: invoices.PaymentSucceeded, Amount: amt, Currency: "usd"}
	}
	type step struct {
		r          invoices.Received
		wantStatus string
		wantPaid   int64
		wantExc    string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a $1 payment does not pay a $1,000 invoice", []step{{ok("pi_1", 100), invoices.StatusPartiallyPaid, 100, ""}}},
		{"instalments add up", []step{
			{ok("pi_1", 40000), invoices.StatusPartiallyPaid, 40000, ""},
			{ok("pi_2", 60000), invoices.StatusPaid, 100000, ""},
		}},
		{"replays count once", []step{
			{ok("pi_1", 40000), invoices.StatusPartiallyPaid, 40000, ""},
			{ok("pi_1", 40000), invoices.StatusPartiallyPaid, 40000, ""},
		}},
		{"overpaid is paid plus an exception", []step{{ok("pi_1", 120000), invoices.StatusPaid, 120000, exceptions.Overpaid}}},
		{"another currency changes nothing", []step{{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "eur"},
			invoices.StatusOpen, 0, exceptions.CurrencyMismatch}}},
		{"failed ACH goes back to open", []step{
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentProcessing, Amount: 100000, Currency: "usd"}, invoices.StatusProcessing, 0, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentFailed, Amount: 100000, Currency: "usd"}, invoices.StatusOpen, 0, ""},
		}},
		{"ACH that succeeds", []step{
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentProcessing, Amount: 100000, Currency: "usd"}, invoices.StatusProcessing, 0, ""},
			{ok("pi_1", 100000), invoices.StatusPaid, 100000, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentProcessing, Amount: 100000, Currency: "usd"}, invoices.StatusPaid, 100000, ""},
		}},
		{"partial refund then full refund", []step{
			{ok("pi_1", 100000), invoices.StatusPaid, 100000, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd", Refunded: 30000}, invoices.StatusPartiallyPaid, 70000, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd", Refunded: 100000}, invoices.StatusOpen, 0, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd", Refunded: 30000}, invoices.StatusOpen, 0, ""}, // late event
		}},
		{"lost dispute", []step{
			{ok("pi_1", 100000), invoices.StatusPaid, 100000, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Currency: "usd", Lost: 100000}, invoices.StatusOpen, 0, ""},
		}},
		{"a declined card retried on the same PaymentIntent pays", []step{
			// payment_intent.payment_failed, then the customer retries with another card:
			// payment_intent.succeeded on the same pi_ (https://docs.stripe.com/payments/paymentintents/lifecycle).
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentFailed, Amount: 100000, Currency: "usd"}, invoices.StatusOpen, 0, ""},
			{ok("pi_1", 100000), invoices.StatusPaid, 100000, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentFailed, Amount: 100000, Currency: "usd"}, invoices.StatusPaid, 100000, ""}, // its charge.failed, late
		}},
		{"failure after success is ignored", []step{
			{ok("pi_1", 100000), invoices.StatusPaid, 100000, ""},
			{invoices.Received{PaymentID: "pi_1", State: invoices.PaymentFailed, Amount: 100000, Currency: "usd"}, invoices.StatusPaid, 100000, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := due
			links := map[string]invoices.PaymentLink{}
			for i, s := range tc.steps {
				st := invoices.Settle(inv, links[s.r.PaymentID], s.r, at)
				inv, links[s.r.PaymentID] = st.Invoice, st.Link
				if inv.Status != s.wantStatus || inv.AmountPaid != s.wantPaid {
					t.Fatalf("step %d: %s %d, want %s %d", i, inv.Status, inv.AmountPaid, s.wantStatus, s.wantPaid)
				}
				var got string
				if len(st.Exceptions) > 0 {
					got = st.Exceptions[0].Reason
				}
				if got != s.wantExc {
					t.Fatalf("step %d: exception %q, want %q", i, got, s.wantExc)
				}
			}
		})
	}
}

// TestSettleVoidInvoice: money for a void invoice is recorded (it was
// received) and raised once for a person to refund or reissue; the invoice
// stays void.
func TestSettleVoidInvoice(t *testing.T) {
	at := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	inv := invoices.Invoice{ID: "inv_v", Amount: 100000, Currency: "USD", Status: invoices.StatusVoid}
	var link invoices.PaymentLink
	for _, s := range []struct {
		name     string
		r        invoices.Received
		wantPaid int64
		wantExc  string
	}{
		{"a payment", invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd"}, 100000, exceptions.VoidInvoicePaid},
		{"its replay raises nothing again", invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd"}, 100000, ""},
		{"its refund", invoices.Received{PaymentID: "pi_1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd", Refunded: 100000}, 0, ""},
	} {
		t.Run(s.name, func(t *testing.T) {
			st := invoices.Settle(inv, link, s.r, at)
			inv, link = st.Invoice, st.Link
			var got string
			if len(st.Exceptions) > 0 {
				got = st.Exceptions[0].Reason
			}
			if inv.Status != invoices.StatusVoid || inv.AmountPaid != s.wantPaid || got != s.wantExc || len(st.Exceptions) > 1 {
				t.Fatalf("%s paid %d, exceptions %v; want void paid %d, %q", inv.Status, inv.AmountPaid, st.Exceptions, s.wantPaid, s.wantExc)
			}
		})
	}
}
