package splitsfn_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/splits"
)

// TestSQSHandlerPartialFailures: a funding message that failed is reported on
// its own, so SQS retries (and finally dead-letters) only it; one that can
// never run (splits.ErrBadFundingMessage) is acknowledged, not redelivered.
func TestSQSHandlerPartialFailures(t *testing.T) {
	e := &app.Env{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var ran []string
	h := splitsfn.SQSHandler(e, func(_ context.Context, body string) error {
		m, err := splits.DecodeFunding(body)
		if err != nil {
			return err
		}
		ran = append(ran, m.Event.Charge)
		if m.Event.Charge == "ch_busy" {
			return errors.New("stripe unavailable")
		}
		return nil
	})
	msg := func(id, charge string) events.SQSMessage {
		body, err := splits.EncodeFunding("ptr_1", splits.PaymentEvent{Type: "charge.refunded", Charge: charge, Refunded: 100, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		return events.SQSMessage{MessageId: id, Body: body}
	}
	res, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		msg("m1", "ch_ok"), msg("m2", "ch_busy"), {MessageId: "m3", Body: `{not json`}, msg("m4", "ch_ok2"),
		{MessageId: "m5", Body: `{"partner_id":"ptr_1","event":{"type":"payout.paid"}}`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range res.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m2"}) || !slices.Equal(ran, []string{"ch_ok", "ch_busy", "ch_ok2"}) {
		t.Fatalf("failed %v ran %v", failed, ran)
	}
}
