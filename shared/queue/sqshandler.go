package queue

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// SQSHandler runs each message through h and reports failures individually
// (ReportBatchItemFailures), so one bad job is retried and then dead-lettered
// without holding up the rest of the batch. The worker and the plaid function
// consume their queues with it.
func SQSHandler(log *slog.Logger, h Handler) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var res events.SQSEventResponse
		for _, m := range ev.Records {
			j, err := Decode(m.Body)
			if err == nil {
				err = h.Handle(ctx, j)
			}
			if errors.Is(err, ErrPermanent) {
				// Retrying cannot fix it (a malformed job, a bad argument): log it and
				// acknowledge, rather than let SQS redeliver it until the DLQ.
				log.ErrorContext(ctx, "job dropped: permanent failure", "message_id", m.MessageId, "kind", j.Kind, "object_id", j.ObjectID, "err", err)
				continue
			}
			if err != nil {
				log.ErrorContext(ctx, "job failed", "message_id", m.MessageId, "kind", j.Kind, "object_id", j.ObjectID, "err", err)
				res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return res, nil
	}
}
