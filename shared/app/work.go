package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// Stores for invoices, payments and payouts over the Env's table.
func InvoiceStore(e *Env) *invoices.Store {
	return &invoices.Store{DB: e.Store, IDs: e.IDs, Now: e.Now}
}
func PaymentStore(e *Env) *payments.Store { return &payments.Store{DB: e.Store, Now: e.Now} }
func PayoutStore(e *Env) *payouts.Store {
	return &payouts.Store{DB: e.Store, Now: e.Now, OnChange: func(ctx context.Context, p payouts.Payout) error {
		return reconsvc.MarkPayoutChanged(ctx, e.Store, p, e.Now())
	}}
}

// WebhookService builds the Stripe/Qualpay webhook service.
func WebhookService(e *Env) *webhooks.Service {
	s := &webhooks.Service{
		Store: e.Store, Routes: e.Companies, Keys: e.Credentials, Invoices: InvoiceStore(e), Payments: PaymentStore(e),
		Payouts: PayoutStore(e), Queue: WorkQueue(e), Deauth: ConnectService(e), Now: e.Now, Log: e.Log,
		// Succeeded payments that name a payment intent pay out its splits;
		// transfer.* platform events settle those payouts.
		Hook: SplitsService(e), Transfers: SplitsService(e),
	}
	return s
}

// Worker builds the job worker (payout itemisation, Qualpay deposit pulls).
func Worker(e *Env) *webhooks.Worker {
	return &webhooks.Worker{
		Keys: e.Credentials, Stripe: e.Stripe, Payouts: PayoutStore(e), Payments: PaymentStore(e), Log: e.Log,
		Qualpay: &webhooks.QualpayPuller{Keys: e.Credentials, HTTP: e.HTTP, BaseURL: e.Cfg.QualpayBaseURL, Payouts: PayoutStore(e), Now: e.Now, Log: e.Log},
	}
}

var (
	localQueues sync.Map // *Env -> *queue.InProcess
	sqsOnce     sync.Map // queue URL -> *queue.SQS
)

// WorkQueue is SQS when WORK_QUEUE_URL is set (AWS), else the in-process queue
// that runs the same Worker (local runner, tests).
func WorkQueue(e *Env) queue.Enqueuer {
	if e.Cfg.WorkQueueURL != "" {
		if q, ok := sqsOnce.Load(e.Cfg.WorkQueueURL); ok {
			return q.(*queue.SQS)
		}
		cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(e.Cfg.Region))
		if err != nil {
			return failingQueue{fmt.Errorf("sqs config: %w", err)}
		}
		q := &queue.SQS{API: sqs.NewFromConfig(cfg), QueueURL: e.Cfg.WorkQueueURL}
		sqsOnce.Store(e.Cfg.WorkQueueURL, q)
		return q
	}
	return LocalQueue(e)
}

// LocalQueue is the Env's in-process queue (tests call Wait on it).
func LocalQueue(e *Env) *queue.InProcess {
	q, _ := localQueues.LoadOrStore(e, &queue.InProcess{Handler: Worker(e), Log: e.Log})
	return q.(*queue.InProcess)
}

type failingQueue struct{ err error }

func (f failingQueue) Enqueue(context.Context, queue.Job) error { return f.err }

// SQSHandler runs each message through h and reports failures individually
// (ReportBatchItemFailures), so one bad job is retried and then dead-lettered
// without holding up the rest of the batch.
func SQSHandler(e *Env, h queue.Handler) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
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

// ServeSQSWorker is the whole main of the worker function.
func ServeSQSWorker(getenv func(string) string) error {
	log := LambdaLogger()
	env, err := NewEnv(context.Background(), ConfigFromEnv(getenv), log)
	if err != nil {
		log.Error("cold start failed", "err", err)
		return err
	}
	if env.Cfg.WorkQueueURL == "" {
		return errors.New("WORK_QUEUE_URL is not set")
	}
	lambda.Start(SQSHandler(env, Worker(env)))
	return nil
}
