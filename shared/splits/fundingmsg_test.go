package splits

import (
	"errors"
	"reflect"
	"testing"
)

// TestFundingMessage: a platform money event survives the splits queue as the
// webhook built it, and a body that can never run is told apart (dropped, not
// redelivered until the dead-letter queue).
func TestFundingMessage(t *testing.T) {
	paid := PaymentEvent{Type: "payment_intent.succeeded", PaymentIntent: "pi_1", Charge: "ch_1", Method: "us_bank_account",
		Amount: 150000, Currency: "USD", Metadata: map[string]string{MetaIntent: "pi_01abc", MetaPartner: "ptr_1"}}
	refund := PaymentEvent{Type: "charge.refunded", Charge: "ch_1", Amount: 150000, Refunded: 75000, Currency: "EUR"}
	dispute := PaymentEvent{Type: "charge.dispute.created", Charge: "py_1", Amount: 9900, Disputed: 9900, Currency: "USD"}
	for _, tc := range []struct {
		name string
		ev   PaymentEvent
	}{{"payment", paid}, {"refund", refund}, {"dispute", dispute}} {
		t.Run("round trip of a "+tc.name, func(t *testing.T) {
			body, err := EncodeFunding("ptr_1", tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			m, err := DecodeFunding(body)
			if err != nil {
				t.Fatal(err)
			}
			if m.PartnerID != "ptr_1" || !reflect.DeepEqual(m.Event, tc.ev) {
				t.Fatalf("%s decoded as %+v", body, m)
			}
		})
	}
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `{"partner_id":`},
		{"no partner", `{"event":{"type":"charge.refunded","charge":"ch_1"}}`},
		{"a partner ID that is not one", `{"partner_id":"ptr 1/..","event":{"type":"charge.refunded"}}`},
		{"an event type PlatformPayment does not run", `{"partner_id":"ptr_1","event":{"type":"charge.succeeded"}}`},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			if _, err := DecodeFunding(tc.body); !errors.Is(err, ErrBadFundingMessage) {
				t.Fatalf("err %v, want ErrBadFundingMessage", err)
			}
		})
	}
	t.Run("the webhook cannot queue what would be refused", func(t *testing.T) {
		if _, err := EncodeFunding("", paid); !errors.Is(err, ErrBadFundingMessage) {
			t.Fatalf("err %v", err)
		}
	})
}
