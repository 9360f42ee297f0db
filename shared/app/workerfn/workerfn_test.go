package workerfn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/queue"
)

// TestSQSHandlerPartialFailures: each failed message is reported on its own, so
// SQS retries (and finally dead-letters) only that one; a message retrying cannot
// fix (not a job, or the handler's queue.ErrPermanent) is acknowledged, not retried.
func TestSQSHandlerPartialFailures(t *testing.T) {
	e := &app.Env{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var ran []string
	h := workerfn.SQSHandler(e, queue.HandlerFunc(func(_ context.Context, j queue.Job) error {
		ran = append(ran, j.ObjectID)
		switch j.ObjectID {
		case "po_bad":
			return errors.New("stripe unavailable")
		case "po_never":
			return fmt.Errorf("bad argument: %w", queue.ErrPermanent)
		}
		return nil
	}))
	msg := func(id, body string) events.SQSMessage { return events.SQSMessage{MessageId: id, Body: body} }
	job := `{"kind":"stripe.itemise_payout","partner_id":"p","company_id":"c","account_id":"acct_1","object_id":"`
	res, err := h(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		msg("m1", job+`po_ok"}`), msg("m2", job+`po_bad"}`), msg("m3", `{not json`), msg("m4", job+`po_ok2"}`),
		msg("m5", job+`po_never"}`), msg("m6", `{"kind":"stripe.itemise_payout"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range res.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if len(failed) != 1 || failed[0] != "m2" || len(ran) != 4 {
		t.Fatalf("failed %v ran %v", failed, ran)
	}
}
