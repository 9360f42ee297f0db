package webhooks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/payments"
)

// TestHotPathInvoiceIDOutOfBounds: a payment whose metadata names an invoice
// by an "inv_" ID longer than any invoice ID is, like on the read path, a
// payment of an unknown invoice: recorded, answered 200, not failed forever.
func TestHotPathInvoiceIDOutOfBounds(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, tc := range []struct{ name, ref string }{
		{"65 characters", "inv_" + strings.Repeat("x", 61)},
		{"500 characters (Stripe's metadata value bound)", "inv_" + strings.Repeat("y", 496)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pi := "pi_long" + itoa(len(tc.ref))
			body := event("evt_long"+itoa(len(tc.ref)), "payment_intent.succeeded", acct, time.Now().Unix(),
				paymentIntent(pi, "succeeded", 100000, map[string]string{"invoice_id": tc.ref}, "card"))
			r := w.deliver(t, body)
			if r.status != 200 || r.res.Outcome != "applied" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			p, err := w.svc.Payments.Get(ctx, w.pid, w.cid, pi)
			if err != nil || p.Status != payments.StatusSucceeded || p.InvoiceID != "" {
				t.Fatalf("payment %+v %v", p, err)
			}
		})
	}
}
