// Package reconrun builds the reconciliation service and hands a company's run
// to the reconcile function. reconfn (bank-feed, reconcile, reports and the
// Embedded UI) and plaidfn share it. It imports neither the Embedded UI nor the
// work queue, so the plaid function, which stores bank lines and queues runs,
// links only that (with reconfn it linked the worker's packages too).
package reconrun

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

// Service builds reconciliation over the Env. Payout ingestion marks each
// changed payout (stores.Payouts' OnChange), so runs read only changed payouts.
func Service(e *app.Env) *reconsvc.Service {
	return &reconsvc.Service{
		Store: e.Store, Payouts: stores.Payouts(e), Invoices: stores.Invoices(e), IDs: e.IDs, Now: e.Now, Log: e.Log,
	}
}

// inProcess runs a queued company in this process; nil until EnableInProcess.
// A function value rather than a call, so the functions that hand runs over
// (plaid) do not link the matcher (≈0.3 MB of the plaid bootstrap).
var inProcess atomic.Pointer[func(*app.Env) func(context.Context, reconsvc.CompanyRef) error]

// EnableInProcess makes Queue run a company's reconciliation in this process,
// right away, when RECONCILE_QUEUE_URL is unset. Only local code calls it (the
// local runner, the test harness); a deployed function has the queue URL.
func EnableInProcess() {
	f := func(e *app.Env) func(context.Context, reconsvc.CompanyRef) error {
		return func(ctx context.Context, c reconsvc.CompanyRef) error {
			_, err := Service(e).RunRef(ctx, c)
			return err
		}
	}
	inProcess.Store(&f)
}

// Queue hands one company's run to the reconcile function: a message on its
// queue when RECONCILE_QUEUE_URL is set (AWS, make invoke), else the same run in
// this process if local code enabled it (EnableInProcess), else an error (a
// misconfigured function fails loudly; the company stays due for the schedule).
func Queue(e *app.Env) func(context.Context, reconsvc.CompanyRef) error {
	if e.Cfg.ReconcileQueueURL != "" {
		return (&Sender{API: sqsclient.New(e), QueueURL: e.Cfg.ReconcileQueueURL}).Send
	}
	if f := inProcess.Load(); f != nil {
		return (*f)(e)
	}
	return func(context.Context, reconsvc.CompanyRef) error { return errors.New("RECONCILE_QUEUE_URL is not set") }
}

// CompanyQueue is the part of the SQS client the sender uses.
type CompanyQueue interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Sender sends company runs to the reconcile queue (the schedule's fan-out,
// Plaid syncs). It lives here, not in reconsvc, so the functions that only
// mark payouts changed (payments) do not link the SQS SDK.
type Sender struct {
	API      CompanyQueue
	QueueURL string
}

// Send enqueues one company.
func (q *Sender) Send(ctx context.Context, c reconsvc.CompanyRef) error {
	if q.QueueURL == "" || !strings.HasPrefix(q.QueueURL, "http") {
		return errors.New("reconcile queue URL is not set")
	}
	b, _ := json.Marshal(c)
	_, err := q.API.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(string(b))})
	return err
}
