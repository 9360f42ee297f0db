// Package sqsbatch runs an SQS event source's batches with partial failures
// reported per message. It imports no AWS client, so a function that only
// consumes a queue links (and initialises) no SQS client for it.
package sqsbatch

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// Run runs each message of a batch through run and reports failures one
// by one (ReportBatchItemFailures), so SQS retries, and at last dead-letters,
// only those, without holding up the rest of the batch. A failure for which
// permanent holds can never succeed (a malformed message, a bad argument): it
// is logged and acknowledged rather than redelivered until the dead-letter
// queue. Every SQS consumer (worker, plaid, splits, reconcile) uses it; name
// says whose messages the log lines are about.
func Run(log *slog.Logger, name string, run func(ctx context.Context, body string) error, permanent func(error) bool) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var res events.SQSEventResponse
		for _, m := range ev.Records {
			err := run(ctx, m.Body)
			if err != nil && permanent(err) {
				log.ErrorContext(ctx, name+" dropped: permanent failure", "message_id", m.MessageId, "err", err)
				continue
			}
			if err != nil {
				log.ErrorContext(ctx, name+" failed", "message_id", m.MessageId, "err", err)
				res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return res, nil
	}
}
