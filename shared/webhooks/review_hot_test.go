package webhooks_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/webhooks"
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
			if err != nil || p.Status != "succeeded" || p.InvoiceID != "" {
				t.Fatalf("payment %+v %v", p, err)
			}
		})
	}
}

// racingDB runs race once, just before the first transaction goes out: a
// concurrent writer that changes the invoice between its read and its write.
type racingDB struct {
	store.API
	race func()
}

func (r *racingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f := r.race; f != nil {
		r.race = nil
		f()
	}
	return r.API.TransactWriteItems(ctx, in, o...)
}

// TestQualpayPaymentRacingAnotherChange: a Qualpay sale that pays an invoice
// while another change of the invoice item lands between its read and its
// write (any change of the links moves pays_v) is still counted: the deposit's
// items are stored next, so no later pull pays the invoice again.
func TestQualpayPaymentRacingAnotherChange(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pid, cid := env.Company()
	direct := stores.Invoices(env.Env)
	for i, tc := range []struct {
		name string
		race invoices.Received // what the concurrent writer records first
	}{
		{"another payment's failed attempt", invoices.Received{PaymentID: "pi_declined", State: invoices.PaymentFailed, Amount: 100000, Currency: "usd"}},
		{"an ACH payment of another amount in flight", invoices.Received{PaymentID: "pi_ach", State: invoices.PaymentProcessing, Amount: 5000, Currency: "usd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, _, err := direct.Create(ctx, pid, cid, invoices.Input{ExternalID: "qp-race-" + itoa(i), Amount: 100000, Currency: "usd"})
			if err != nil {
				t.Fatal(err)
			}
			racing := *env.Store
			racing.DB = &racingDB{API: env.Store.DB, race: func() {
				cur, err := direct.Get(ctx, pid, cid, inv.ID)
				if err != nil {
					t.Error(err)
					return
				}
				txs, _, err := direct.ApplyPayment(ctx, cur, tc.race)
				if err == nil {
					err = env.Store.Transact(ctx, txs)
				}
				if err != nil {
					t.Error(err)
				}
			}}
			p := &webhooks.QualpayPuller{Invoices: &invoices.Store{DB: &racing, IDs: env.IDs, Now: env.Now}}
			got, err := webhooks.PayInvoice(p, ctx, pid, cid, inv.ID, "qp_"+itoa(i), 100000, "USD")
			if err != nil || got != inv.ID {
				t.Fatalf("payInvoice: %q %v", got, err)
			}
			after, err := direct.Get(ctx, pid, cid, inv.ID)
			if err != nil || after.AmountPaid != 100000 || after.Pays["qp_"+itoa(i)].Counted != 100000 || len(after.Pays) != 2 {
				t.Fatalf("invoice after the sale: %s paid %d, links %v, %v", after.Status, after.AmountPaid, after.Pays, err)
			}
		})
	}
}

// TestRefundBeforeItsPayment: Stripe does not deliver events in order, so a
// refund can arrive before the payment_intent.succeeded that names the
// invoice. The invoice must count only what the customer kept: a full refund
// leaves it open, a partial one partially paid, whether the invoice is named
// by our ID (the unread hot path, whose guard fails on a refunded payment) or
// by number (the read path).
func TestRefundBeforeItsPayment(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	now := time.Now().Unix()
	for i, tc := range []struct {
		name     string
		refunded int64
		byNumber bool
		status   string
		paid     int64
	}{
		{"full refund first, invoice by id", 100000, false, invoices.StatusOpen, 0},
		{"partial refund first, invoice by id", 40000, false, invoices.StatusPartiallyPaid, 60000},
		{"full refund first, invoice by number", 100000, true, invoices.StatusOpen, 0},
		{"partial refund first, invoice by number", 25000, true, invoices.StatusPartiallyPaid, 75000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := itoa(i)
			inv := w.createInvoice(t, "ext-rf-"+n, "INV-RF-"+n)
			md := map[string]string{"invoice_id": inv.ID}
			if tc.byNumber {
				md = map[string]string{"invoice_number": inv.Number}
			}
			pi := "pi_rf" + n
			refund := event("evt_rf_r"+n, "charge.refunded", acct, now+10, map[string]any{"id": "ch_rf" + n, "object": "charge", "amount": 100000,
				"amount_refunded": tc.refunded, "refunded": tc.refunded == 100000, "currency": "usd", "payment_intent": pi})
			if r := w.deliver(t, refund); r.status != 200 {
				t.Fatalf("refund: %d %s", r.status, r.body)
			}
			if r := w.deliver(t, event("evt_rf_p"+n, "payment_intent.succeeded", acct, now, paymentIntent(pi, "succeeded", 100000, md, "card"))); r.status != 200 {
				t.Fatalf("payment: %d %s", r.status, r.body)
			}
			got, err := w.svc.Invoices.Get(ctx, w.pid, w.cid, inv.ID)
			if err != nil || got.Status != tc.status || got.AmountPaid != tc.paid {
				t.Fatalf("invoice %s paid %d (%v), want %s paid %d", got.Status, got.AmountPaid, err, tc.status, tc.paid)
			}
			p, err := w.svc.Payments.Get(ctx, w.pid, w.cid, pi)
			if err != nil || p.InvoiceID != inv.ID || p.AmountRefunded != tc.refunded {
				t.Fatalf("payment %+v %v", p, err)
			}
		})
	}
}

// TestPaymentAmountOutOfBounds: a signed event whose amount no charge can have
// (over invoices' bound, where two such payments would overflow the invoice's
// int64 totals) is recorded as rejected and answered 200, on the unread hot
// path (invoice by our ID) and on the read path (by number), and changes
// neither the invoice nor the payment. A Qualpay sale out of bounds pays no
// invoice instead of failing its deposit's pull forever.
func TestPaymentAmountOutOfBounds(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const huge = 1 << 62
	for i, byNumber := range []bool{false, true} {
		t.Run(map[bool]string{false: "invoice by id", true: "invoice by number"}[byNumber], func(t *testing.T) {
			n := itoa(i)
			inv := w.createInvoice(t, "ext-huge-"+n, "INV-HUGE-"+n)
			md := map[string]string{"invoice_id": inv.ID}
			if byNumber {
				md = map[string]string{"invoice_number": inv.Number}
			}
			pi := "pi_huge" + n
			r := w.deliver(t, event("evt_huge"+n, "payment_intent.succeeded", acct, time.Now().Unix(), paymentIntent(pi, "succeeded", huge, md, "card")))
			if r.status != 200 || r.res.Outcome != "rejected" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			got, err := w.svc.Invoices.Get(ctx, w.pid, w.cid, inv.ID)
			if err != nil || got.Status != invoices.StatusOpen || got.AmountPaid != 0 || len(got.Pays) != 0 {
				t.Fatalf("invoice %s paid %d, links %v (%v)", got.Status, got.AmountPaid, got.Pays, err)
			}
			if _, err := w.svc.Payments.Get(ctx, w.pid, w.cid, pi); err == nil {
				t.Fatal("payment recorded by a rejected event")
			}
		})
	}
	t.Run("qualpay sale", func(t *testing.T) {
		inv := w.createInvoice(t, "ext-huge-qp", "INV-HUGE-QP")
		p := &webhooks.QualpayPuller{Invoices: w.svc.Invoices, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		got, err := webhooks.PayInvoice(p, ctx, w.pid, w.cid, inv.ID, "qp_huge", huge, "USD")
		if err != nil || got != "" {
			t.Fatalf("payInvoice: %q %v", got, err)
		}
		after, err := w.svc.Invoices.Get(ctx, w.pid, w.cid, inv.ID)
		if err != nil || after.AmountPaid != 0 || len(after.Pays) != 0 {
			t.Fatalf("invoice paid %d, links %v (%v)", after.AmountPaid, after.Pays, err)
		}
	})
}
