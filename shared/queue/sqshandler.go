package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/sqsbatch"
)

// SQSHandler consumes a work queue of Jobs with h (sqsbatch.Run); a message that
// is not a job, or a job h fails with ErrPermanent, is acknowledged.
func SQSHandler(log *slog.Logger, h Handler) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return sqsbatch.Run(log, "job", func(ctx context.Context, body string) error {
		j, err := Decode(body)
		if err != nil {
			return err
		}
		if err := h.Handle(ctx, j); err != nil {
			return fmt.Errorf("%s %s: %w", j.Kind, j.ObjectID, err)
		}
		return nil
	}, func(err error) bool { return errors.Is(err, ErrPermanent) })
}
