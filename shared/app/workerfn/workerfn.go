// Package workerfn builds the worker function (SQS: Stripe payout itemisation,
// Qualpay deposit pulls, Account Updater results) and the work queue the
// webhooks, the reconcile schedule and the vault's daily pass enqueue to.
package workerfn

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/vault"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// Worker builds the job worker.
func Worker(e *app.Env) *webhooks.Worker {
	return &webhooks.Worker{
		Keys: e.Credentials, Stripe: e.Stripe, Payouts: stores.Payouts(e), Payments: stores.Payments(e), Log: e.Log, Now: e.Now,
		Qualpay: &webhooks.QualpayPuller{Keys: e.Credentials, HTTP: e.HTTP, BaseURL: e.Cfg.QualpayBaseURL, Payouts: stores.Payouts(e), Now: e.Now, Log: e.Log,
			// No queue here: the puller only reads and moves cursors (and
			// Queue builds this worker).
			Pulls: &webhooks.QualpayPulls{Store: e.Store, Now: e.Now}, Routes: e.Companies, Invoices: stores.Invoices(e)},
		// Qualpay Account Updater results are applied to the vault's customers.
		AccountUpdater: accountUpdater(e),
	}
}

// QualpayPulls keeps the Qualpay pull cursors and queues pulls on the work
// queue (the reconcile schedule and Qualpay links use it).
func QualpayPulls(e *app.Env) *webhooks.QualpayPulls {
	return &webhooks.QualpayPulls{Store: e.Store, Queue: Queue(e), Now: e.Now}
}

func accountUpdater(e *app.Env) *vault.Service {
	return vault.New(e.Store, e.Companies, e.Credentials, vault.Config{HTTP: e.HTTP,
		QualpayBaseURL: e.Cfg.QualpayBaseURL, Now: e.Now, Log: e.Log})
}

var (
	localQueues sync.Map // *app.Env -> *queue.InProcess
	sqsQueues   sync.Map // *app.Env -> *queue.SQS
	// inProcess makes the in-process queue; nil until EnableInProcess. A
	// function value rather than a call, so the functions that enqueue
	// (webhooks, connections, reconcile, ...) link neither the Worker nor what it
	// runs (the Stripe itemiser, the Qualpay puller, the vault): 0.4-1.4 MB each.
	inProcess atomic.Pointer[func(*app.Env) queue.Enqueuer]
)

// EnableInProcess makes Queue fall back to the in-process queue running the
// same Worker when WORK_QUEUE_URL is unset. Only local code calls it (the local
// runner, the test harness); a deployed function always has WORK_QUEUE_URL.
func EnableInProcess() {
	f := func(e *app.Env) queue.Enqueuer { return LocalQueue(e) }
	inProcess.Store(&f)
}

// Queue is SQS when WORK_QUEUE_URL is set (AWS, make invoke), else the
// in-process queue if local code enabled it (EnableInProcess), else a queue
// that refuses every job (a misconfigured function fails loudly, not silently).
func Queue(e *app.Env) queue.Enqueuer {
	if e.Cfg.WorkQueueURL != "" {
		// Load first: LoadOrStore's argument would build an SQS client on every
		// call (each reconcile tick calls Queue through QualpayPulls).
		if q, ok := sqsQueues.Load(e); ok {
			return q.(*queue.SQS)
		}
		q, _ := sqsQueues.LoadOrStore(e, &queue.SQS{API: sqsclient.New(e), QueueURL: e.Cfg.WorkQueueURL})
		return q.(*queue.SQS)
	}
	if f := inProcess.Load(); f != nil {
		return (*f)(e)
	}
	return unset{}
}

// unset is the work queue of a function without WORK_QUEUE_URL.
type unset struct{}

func (unset) Enqueue(context.Context, queue.Job) error {
	return errors.New("WORK_QUEUE_URL is not set")
}

// LocalQueue is the Env's in-process queue (tests call Wait on it).
func LocalQueue(e *app.Env) *queue.InProcess {
	q, _ := localQueues.LoadOrStore(e, &queue.InProcess{Handler: Worker(e), Log: e.Log})
	return q.(*queue.InProcess)
}

// SQSHandler is queue.SQSHandler with the Env's logger: failures are reported
// per message (ReportBatchItemFailures), permanent ones dropped and logged.
func SQSHandler(e *app.Env, h queue.Handler) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return queue.SQSHandler(e.Log, h)
}

// Entry is the worker function's Lambda handler: work queue batches only. The
// daily Account Updater pass, which sends to the queue, is the vault function's
// (vaultfn.Entry), so the worker links no SQS client.
func Entry(e *app.Env) (any, error) {
	return SQSHandler(e, Worker(e)), nil
}
