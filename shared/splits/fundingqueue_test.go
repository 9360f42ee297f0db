package splits_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/splits"
)

// TestFundingQueueDeliveries: the splits function's queue handler
// (splitsfn.SQSHandler over splitsfn.Fund) on messages as SQS delivers them:
// at least once, so twice in one batch and again later; bodies that can never
// succeed; and bodies naming another partner.
func TestFundingQueueDeliveries(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	h := splitsfn.SQSHandler(w.env.Env, splitsfn.Fund(w.env.Env))
	newIntent := func() string {
		id, items := w.intent(`{"currency":"EUR","items":[{"name":"Enrolment","amount":150000}]}`)
		w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "percentage": 0.6, "item": items[0], "partnership": w.school, "payment_intent": id})
		return id
	}
	const perPayment = 2 // school and the tenant
	other, _ := w.env.Partner("Other")
	n := 0
	msg := func(pid string, ev splits.PaymentEvent) events.SQSMessage {
		body, err := splits.EncodeFunding(pid, ev)
		if err != nil {
			t.Fatal(err)
		}
		n++
		return events.SQSMessage{MessageId: fmt.Sprintf("m%d", n), Body: body}
	}
	deliver := func(t *testing.T, ms ...events.SQSMessage) []string {
		t.Helper()
		res, err := h(ctx, events.SQSEvent{Records: ms})
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, f := range res.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		return failed
	}
	for _, tc := range []struct {
		name      string
		messages  func(id string, paid splits.PaymentEvent) []events.SQSMessage
		transfers int
	}{
		{"the same message twice in a batch and once more", func(_ string, paid splits.PaymentEvent) []events.SQSMessage {
			m := msg(w.d.PartnerID, paid)
			return []events.SQSMessage{m, m, m}
		}, perPayment},
		{"a payment event without its charge (the charge's own event funds the round)", func(_ string, paid splits.PaymentEvent) []events.SQSMessage {
			chargeless := paid
			chargeless.Charge = ""
			return []events.SQSMessage{msg(w.d.PartnerID, chargeless), msg(w.d.PartnerID, paid)}
		}, perPayment},
		{"another partner's message naming this partner's intent", func(_ string, paid splits.PaymentEvent) []events.SQSMessage {
			anon := paid
			anon.Metadata = maps.Clone(paid.Metadata)
			delete(anon.Metadata, splits.MetaPartner)
			return []events.SQSMessage{msg(other, paid), msg(other, anon)}
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newIntent()
			paid := w.platformPaid("pi_q_"+fmt.Sprint(n), id, 150000)
			if failed := deliver(t, tc.messages(id, paid)...); len(failed) != 0 {
				t.Fatalf("messages %v reported failed: redelivered until the dead-letter queue", failed)
			}
			if got := len(w.transfersOf(id)); got != tc.transfers {
				t.Fatalf("%d transfers, want %d", got, tc.transfers)
			}
		})
	}
	t.Run("a dispute delivered before its payment's funding is taken back once the shares are paid", func(t *testing.T) {
		// SQS does not order messages, and a funding that fails (Stripe down, the
		// tenant still onboarding) is retried for days while the dispute's message runs.
		id := newIntent()
		paid := w.platformPaid("pi_q_dispute", id, 150000)
		dispute := msg(w.d.PartnerID, splits.PaymentEvent{Type: "charge.dispute.created", PaymentIntent: paid.PaymentIntent, Charge: paid.Charge, Disputed: 150000, Currency: "EUR"})
		if failed := deliver(t, dispute); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		if failed := deliver(t, msg(w.d.PartnerID, paid)); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		trs := w.transfersOf(id)
		if len(trs) != perPayment {
			t.Fatalf("%d transfers, want %d", len(trs), perPayment)
		}
		for _, tr := range trs {
			if tr.Reversed != tr.Amount {
				t.Fatalf("the disputed payment's transfer to %s kept %d of %d: the platform pays the dispute from its own balance",
					tr.Destination, tr.Amount-tr.Reversed, tr.Amount)
			}
		}
		if failed := deliver(t, dispute); len(failed) != 0 { // redelivered: nothing reversed twice
			t.Fatalf("failed %v", failed)
		}
		for _, tr := range w.transfersOf(id) {
			if tr.Reversed != tr.Amount {
				t.Fatalf("transfer to %s reversed %d of %d", tr.Destination, tr.Reversed, tr.Amount)
			}
		}
	})
	t.Run("a refund delivered twice reverses once", func(t *testing.T) {
		id := newIntent()
		paid := w.platformPaid("pi_q_refund", id, 150000)
		if failed := deliver(t, msg(w.d.PartnerID, paid)); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		if _, err := w.fake.Refund(paid.Charge, 75000); err != nil {
			t.Fatal(err)
		}
		refund := msg(w.d.PartnerID, splits.PaymentEvent{Type: "charge.refunded", PaymentIntent: paid.PaymentIntent, Charge: paid.Charge, Refunded: 75000, Currency: "EUR"})
		if failed := deliver(t, refund, refund); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		if failed := deliver(t, refund); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
		for _, tr := range w.transfersOf(id) {
			if tr.Reversed != tr.Amount/2 {
				t.Fatalf("transfer to %s of %d reversed %d, want half", tr.Destination, tr.Amount, tr.Reversed)
			}
		}
	})
}
