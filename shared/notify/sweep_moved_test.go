package notify_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// TestSweepLeavesMovedMarkersToTheStream: an invoice is paid (marker of
// invoice.paid) and changes again (a refund) before the relay has seen the
// stream record of the payment. The event must carry the invoice as the
// payment left it, which only that record holds: the sweep leaves such a
// marker to the stream (records are kept 24 hours), and writes it from the
// item as it is only once the stream can no longer have it.
func TestSweepLeavesMovedMarkersToTheStream(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	co, _, err := w.env.Companies.Create(ctx, w.pid, "c1", "Bakery")
	if err != nil {
		t.Fatal(err)
	}
	invs := stores.Invoices(w.env.Env)
	apply := func(inv invoices.Invoice, r invoices.Received) invoices.Invoice {
		t.Helper()
		cur, err := invs.Get(ctx, w.pid, co.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		txs, _, err := invs.ApplyPayment(ctx, cur, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.env.Store.Transact(ctx, txs); err != nil {
			t.Fatal(err)
		}
		after, err := invs.Get(ctx, w.pid, co.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		return after
	}
	paid := invoices.Received{PaymentID: "pi_s1", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd"}
	refunded := paid
	refunded.Refunded = 100000
	sweepAt := func(d time.Duration) *notify.Relay {
		return &notify.Relay{Store: w.env.Store, Queue: w.queue, Now: func() time.Time { return w.env.Now().Add(d) }, Log: w.env.Log}
	}
	for i, tc := range []struct {
		name  string
		after time.Duration // when the sweep runs
		// the event is written by the sweep (from the item as it is now), not
		// left to the stream record of the payment
		bySweep bool
	}{
		{"stream lagging 3 minutes", 3 * time.Minute, false},
		{"past the stream's 24 hours", 25 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, _, err := invs.Create(ctx, w.pid, co.ID, invoices.Input{ExternalID: "sw-" + strconv.Itoa(i), Amount: 100000, Currency: "usd"})
			if err != nil {
				t.Fatal(err)
			}
			inv = apply(inv, paid)
			rec := streamModify(t, w.env.Store, inv) // the payment's record, not handled yet
			marker := inv.GSI1SK
			now := apply(inv, refunded)
			if now.Status != invoices.StatusOpen || now.GSI1SK != marker {
				t.Fatalf("after the refund: %s, marker %q (was %q)", now.Status, now.GSI1SK, marker)
			}
			if _, err := sweepAt(tc.after).Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			var ev outbox.Event
			err = w.env.Store.Get(ctx, store.PartnerPK(w.pid), outbox.SKPrefix+marker, &ev)
			if !tc.bySweep {
				if err == nil {
					t.Fatalf("the sweep wrote the event from the item as it is now: %s", ev.Data)
				}
				if res, err := w.relay.HandleStream(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{rec}}); err != nil || len(res.BatchItemFailures) > 0 {
					t.Fatalf("stream %+v %v", res, err)
				}
				if err := w.env.Store.Get(ctx, store.PartnerPK(w.pid), outbox.SKPrefix+marker, &ev); err != nil {
					t.Fatal(err)
				}
				want, _ := json.Marshal(inv)
				if ev.Data != string(want) {
					t.Fatalf("event object\n%s\nwant the invoice as the payment left it\n%s", ev.Data, want)
				}
			} else if err != nil {
				t.Fatalf("no event past the stream's retention: %v", err)
			}
			if left, _ := invs.Get(ctx, w.pid, co.ID, inv.ID); left.GSI1SK != "" {
				t.Fatalf("marker left: %q", left.GSI1SK)
			}
		})
	}
}
