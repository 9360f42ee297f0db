// Package webhookfn builds the stripe-webhook and qualpay-webhook functions.
package webhookfn

import (
	"net/http"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// Service builds the Stripe/Qualpay webhook service.
func Service(e *app.Env) *webhooks.Service {
	smclient.Use(e) // signing secrets and Stripe keys
	cs := connectfn.Service(e)
	s := &webhooks.Service{
		Store: e.Store, Routes: e.Companies, Keys: e.Credentials, Invoices: stores.Invoices(e), Payments: stores.Payments(e),
		Payouts: stores.Payouts(e), Queue: workerfn.Queue(e), Deauth: cs, Accounts: cs, Now: e.Now, Log: e.Log,
		// Platform payments of split intents fund their transfers (refunds and
		// disputes reverse them); a split intent paid by a direct charge raises an
		// exception; transfer.* platform events settle the payouts.
		Hook: splitsfn.Service(e), Transfers: splitsfn.Service(e), Funding: splitsfn.Service(e),
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
