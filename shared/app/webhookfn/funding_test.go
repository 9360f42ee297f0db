package webhookfn

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/splits"
)

// TestFundingQueuesTheEvent: the webhook's split funding sends the event in
// the splits queue's form, which the splits function reads back unchanged;
// without SPLITS_QUEUE_URL (and no local in-process runner) it fails loudly,
// so the delivery is answered 500 and retried rather than the money event lost.
func TestFundingQueuesTheEvent(t *testing.T) {
	ev := splits.PaymentEvent{Type: "payment_intent.succeeded", PaymentIntent: "pi_1", Charge: "ch_1", Method: "card",
		Amount: 150000, Currency: "USD", Metadata: map[string]string{splits.MetaIntent: "pi_01abc"}}
	t.Run("sent in the queue's form", func(t *testing.T) {
		var sent []string
		f := funding{send: func(_ context.Context, body string) error { sent = append(sent, body); return nil }}
		if err := f.PlatformPayment(context.Background(), "ptr_1", ev); err != nil {
			t.Fatal(err)
		}
		if len(sent) != 1 {
			t.Fatalf("%d messages", len(sent))
		}
		m, err := splits.DecodeFunding(sent[0])
		if err != nil || m.PartnerID != "ptr_1" || !reflect.DeepEqual(m.Event, ev) {
			t.Fatalf("%s: %+v %v", sent[0], m, err)
		}
	})
	t.Run("no queue configured", func(t *testing.T) {
		f := funding{send: fundingSender(&app.Env{})}
		if err := f.PlatformPayment(context.Background(), "ptr_1", ev); err == nil || !strings.Contains(err.Error(), "SPLITS_QUEUE_URL") {
			t.Fatalf("err %v", err)
		}
	})
}
