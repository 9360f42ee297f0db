// Package webhookfn builds the stripe-webhook and qualpay-webhook functions.
package webhookfn

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/splits"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// Service builds the Stripe/Qualpay webhook service.
func Service(e *app.Env) *webhooks.Service {
	smclient.Use(e) // signing secrets and Stripe keys
	cs := connectfn.Service(e)
	hooks := splitsfn.WebhookHooks(e)
	s := &webhooks.Service{
		Store: e.Store, Routes: e.Companies, Keys: e.Credentials, Invoices: stores.Invoices(e), Payments: stores.Payments(e),
		Payouts: stores.Payouts(e), Queue: workerfn.Queue(e), Deauth: cs, Accounts: cs, Now: e.Now, Log: e.Log,
		// Platform payments of split intents fund their transfers (refunds and
		// disputes reverse them): queued for the splits function, which calls
		// Stripe. A split intent paid by a direct charge raises an exception and
		// transfer.* platform events settle the payouts, here (table writes only).
		Hook: hooks, Transfers: hooks, Funding: funding{send: fundingSender(e)},
	}
	if e.Cfg.Stage == LocalStage && e.Cfg.Local() {
		// The events/ webhook files are signed once, with the committed local-only
		// demo secrets, so they run as shipped under `sam local invoke` and `make
		// invoke`. Only the local stage on local emulators accepts their old timestamps;
		// every other stage keeps Stripe's 5-minute window.
		s.Tolerance = localTolerance
	}
	return s
}

// LocalStage is the stage `make run`, `make invoke` and env.json use.
const LocalStage = "local"

// localTolerance accepts any signature timestamp from the last 50 years.
const localTolerance = 50 * 365 * 24 * time.Hour

// StripeHandler serves POST /stripe, /stripe/{partner_id}/connect and /stripe/{partner_id}.
func StripeHandler(e *app.Env) http.Handler {
	r := e.Router()
	webhooks.StripeRoutes(r, Service(e))
	return r.Handler()
}

// QualpayHandler serves POST /qualpay and POST /qualpay/{partner_id}.
func QualpayHandler(e *app.Env) http.Handler {
	r := e.Router()
	webhooks.QualpayRoutes(r, Service(e))
	return r.Handler()
}

// funding queues platform money events of split intents for the splits
// function (splits.FundingMessage). It runs after the event is recorded, as
// the payout itemisation job does: if the send fails, the event is forgotten
// and answered 500, and Stripe's retry queues it again.
type funding struct {
	send func(ctx context.Context, body string) error
}

// PlatformPayment queues e (webhooks.SplitFunding).
func (f funding) PlatformPayment(ctx context.Context, partnerID string, e splits.PaymentEvent) error {
	body, err := splits.EncodeFunding(partnerID, e)
	if err != nil {
		return err
	}
	return f.send(ctx, body)
}

// inProcessFunding runs a funding message in this process; nil until
// EnableInProcess. A function value, as in workerfn, so that the webhook
// links neither the splits function's Stripe clients nor what they call.
var inProcessFunding atomic.Pointer[func(*app.Env) func(context.Context, string) error]

// EnableInProcess makes the webhook run split funding in this process, with
// run (splitsfn.Fund), when SPLITS_QUEUE_URL is unset. Only local code calls
// it (the local runner, the test harness). run's error answers the delivery
// 500, so Stripe's retry runs it again, where SQS would redeliver the message.
func EnableInProcess(run func(*app.Env) func(context.Context, string) error) {
	inProcessFunding.Store(&run)
}

// fundingSender sends to SPLITS_QUEUE_URL, else runs in process if local code
// enabled it, else refuses (a misconfigured function fails loudly).
func fundingSender(e *app.Env) func(context.Context, string) error {
	if url := e.Cfg.SplitsQueueURL; url != "" {
		// The function's one SQS client (the work queue's too).
		api := sqsclient.New(e)
		return func(ctx context.Context, body string) error {
			_, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
			return err
		}
	}
	if run := inProcessFunding.Load(); run != nil {
		return (*run)(e)
	}
	return func(context.Context, string) error { return errors.New("SPLITS_QUEUE_URL is not set") }
}
