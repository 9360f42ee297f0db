package splits

import (
	"encoding/json"
	"errors"
	"fmt"
)

// FundingMessage is a platform money event on the splits queue: the Stripe
// webhook records the verified event, then queues it here; the splits function
// runs it (PlatformPayment), so the webhook makes no Stripe API call and links
// no Stripe API client. SQS retries a failed run and dead-letters it at last;
// PlatformPayment is idempotent, so a duplicate delivery moves nothing twice.
type FundingMessage struct {
	PartnerID string       `json:"partner_id"`
	Event     PaymentEvent `json:"event"`
}

// ErrBadFundingMessage marks a queue message that can never run (not JSON, no
// partner, not a funding event type): redelivering it cannot help.
var ErrBadFundingMessage = errors.New("not a split funding message")

// EncodeFunding is the queue body of a platform money event.
func EncodeFunding(partnerID string, e PaymentEvent) (string, error) {
	m := FundingMessage{PartnerID: partnerID, Event: e}
	if err := m.validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// DecodeFunding reads a queue body written by EncodeFunding.
func DecodeFunding(body string) (FundingMessage, error) {
	var m FundingMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return FundingMessage{}, fmt.Errorf("%w: %w", ErrBadFundingMessage, err)
	}
	return m, m.validate()
}

func (m FundingMessage) validate() error {
	if !validID(m.PartnerID) {
		return fmt.Errorf("%w: partner %q", ErrBadFundingMessage, m.PartnerID)
	}
	switch m.Event.Type {
	case "payment_intent.succeeded", "charge.refunded", "charge.dispute.created": // PlatformPayment's
		return nil
	}
	return fmt.Errorf("%w: event type %q", ErrBadFundingMessage, m.Event.Type)
}
