// Package workerfn builds the worker function (SQS: Stripe payout itemisation,
// Qualpay deposit pulls) and the work queue the webhooks enqueue to.
package workerfn

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/vault"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// Worker builds the job worker.
func Worker(e *app.Env) *webhooks.Worker {
	return &webhooks.Worker{
		Keys: e.Credentials, Stripe: e.Stripe, Payouts: stores.Payouts(e), Payments: stores.Payments(e), Log: e.Log,
		Qualpay: &webhooks.QualpayPuller{Keys: e.Credentials, HTTP: e.HTTP, BaseURL: e.Cfg.QualpayBaseURL, Payouts: stores.Payouts(e), Now: e.Now, Log: e.Log,
			// No queue here: the puller only reads and moves cursors (and
			// Queue builds this worker).
			Pulls: &webhooks.QualpayPulls{Store: e.Store, Now: e.Now}, Routes: e.Companies, Invoices: stores.Invoices(e)},
		// Qualpay Account Updater results are applied to the vault's customers.
		AccountUpdater: vault.New(e.Store, e.Companies, e.Credentials, vault.Config{HTTP: e.HTTP,
			QualpayBaseURL: e.Cfg.QualpayBaseURL, Now: e.Now, Log: e.Log}),
	}
}

// QualpayPulls keeps the Qualpay pull cursors and queues pulls on the work
// queue (the reconcile schedule and Qualpay links use it).
func QualpayPulls(e *app.Env) *webhooks.QualpayPulls {
	return &webhooks.QualpayPulls{Store: e.Store, Queue: Queue(e), Now: e.Now}
}

var (
	localQueues sync.Map // *app.Env -> *queue.InProcess
	sqsQueues   sync.Map // *app.Env -> *queue.SQS
)

// Queue is SQS when WORK_QUEUE_URL is set (AWS), else the in-process queue
// that runs the same Worker (local runner, tests).
func Queue(e *app.Env) queue.Enqueuer {
	if e.Cfg.WorkQueueURL != "" {
		q, _ := sqsQueues.LoadOrStore(e, &queue.SQS{API: sqs.NewFromConfig(e.AWS), QueueURL: e.Cfg.WorkQueueURL})
		return q.(*queue.SQS)
	}
	return LocalQueue(e)
}

// LocalQueue is the Env's in-process queue (tests call Wait on it).
func LocalQueue(e *app.Env) *queue.InProcess {
	q, _ := localQueues.LoadOrStore(e, &queue.InProcess{Handler: Worker(e), Log: e.Log})
	return q.(*queue.InProcess)
}

// SQSHandler runs each message through h and reports failures individually
// (ReportBatchItemFailures), so one bad job is retried and then dead-lettered
// without holding up the rest of the batch.
func SQSHandler(e *app.Env, h queue.Handler) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var res events.SQSEventResponse
		for _, m := range ev.Records {
			j, err := queue.Decode(m.Body)
			if err == nil {
				err = h.Handle(ctx, j)
			}
			if err != nil {
				e.Log.ErrorContext(ctx, "job failed", "message_id", m.MessageId, "kind", j.Kind, "object_id", j.ObjectID, "err", err)
				res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return res, nil
	}
}

// Entry is the worker function's Lambda handler.
func Entry(e *app.Env) (any, error) {
	if e.Cfg.WorkQueueURL == "" {
		return nil, errors.New("WORK_QUEUE_URL is not set")
	}
	return SQSHandler(e, Worker(e)), nil
}
