// Package splitsfn builds the splits function (its HTTP API, and the splits
// queue of platform money events it moves split money for) and the split
// service the Stripe webhook's hooks use.
package splitsfn

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/splits"
	"github.com/payrecon/payrecon/shared/sqsbatch"
)

// services holds one splits.Service per Env (the HTTP function and the
// queue consumer share it).
var services sync.Map // *app.Env -> *splits.Service

// Service builds the payment-split service over the Env.
func Service(e *app.Env) *splits.Service {
	if s, ok := services.Load(e); ok {
		return s.(*splits.Service)
	}
	smclient.Use(e) // the partner's Stripe key
	s := tableOnly(e)
	s.Transfers, s.Platform = splits.StripeTransfers{Client: e.Stripe.Client}, splits.StripePlatform{Client: e.Stripe.Client}
	actual, _ := services.LoadOrStore(e, s)
	return actual.(*splits.Service)
}

func tableOnly(e *app.Env) *splits.Service {
	return &splits.Service{
		Store: &splits.Store{DB: e.Store}, Routes: e.Companies, Companies: e.Companies, Keys: e.Credentials,
		Connections: e.Companies, IDs: e.IDs, Now: e.Now, Log: e.Log,
	}
}

// Hooks are the Stripe webhook's split hooks that only read and write the
// table: a split intent paid by a direct charge, and transfer.* events. The
// webhook queues the events that move money (Fund runs them), so it links
// neither Stripe API clients nor the funding code (issue 17: its bootstrap
// under 9 MB). Method values, not a *splits.Service field: the linker keeps
// every method of a type reachable from an interface value, and
// *splits.Service has PlatformPayment.
type Hooks struct {
	paid     func(ctx context.Context, partnerID, companyID, paymentID string, metadata map[string]string, amountReceived int64, currency string) error
	transfer func(ctx context.Context, partnerID, eventType, transferID string, metadata map[string]string, reversed bool) error
}

// WebhookHooks builds the hooks over a split service without Stripe clients.
func WebhookHooks(e *app.Env) Hooks {
	s := tableOnly(e)
	return Hooks{paid: s.PaymentSucceeded, transfer: s.TransferEvent}
}

// PaymentSucceeded is splits.Service.PaymentSucceeded (webhooks.PaymentHook).
func (h Hooks) PaymentSucceeded(ctx context.Context, partnerID, companyID, paymentID string, metadata map[string]string, amountReceived int64, currency string) error {
	return h.paid(ctx, partnerID, companyID, paymentID, metadata, amountReceived, currency)
}

// TransferEvent is splits.Service.TransferEvent (webhooks.TransferHook).
func (h Hooks) TransferEvent(ctx context.Context, partnerID, eventType, transferID string, metadata map[string]string, reversed bool) error {
	return h.transfer(ctx, partnerID, eventType, transferID, metadata, reversed)
}

// Handler serves /v1/taxes…, /v1/partnerships…, /v1/payment-intents… and /v1/payment-splits….
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	splits.Routes(r, Service(e))
	return r.Handler()
}

// Fund runs one splits queue message (splits.FundingMessage): the platform
// money event funds, or takes back, a split intent's transfers. The local
// runner and the tests call it in place of the queue (webhookfn.EnableInProcess).
func Fund(e *app.Env) func(ctx context.Context, body string) error {
	return func(ctx context.Context, body string) error {
		m, err := splits.DecodeFunding(body)
		if err != nil {
			return err
		}
		return Service(e).PlatformPayment(ctx, m.PartnerID, m.Event)
	}
}

// Entry is the splits function's Lambda handler: API Gateway HTTP requests,
// and batches of the splits queue (SPLITS_QUEUE_URL, which the Stripe webhook
// sends to).
func Entry(e *app.Env) (any, error) {
	return app.Triggers{HTTP: httpapi.Lambda(Handler(e)), SQS: SQSHandler(e, Fund(e))}.Handle, nil
}

// SQSHandler consumes the splits queue with run (sqsbatch.Run): a message
// that can never run (splits.ErrBadFundingMessage) is logged and acknowledged.
func SQSHandler(e *app.Env, run func(context.Context, string) error) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return sqsbatch.Run(e.Log, "split funding", run, func(err error) bool { return errors.Is(err, splits.ErrBadFundingMessage) })
}
