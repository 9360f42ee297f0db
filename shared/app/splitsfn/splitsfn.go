// Package splitsfn builds the splits function and the split service the Stripe
// webhook pays out through.
package splitsfn

import (
	"net/http"
	"sync"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/splits"
)

// services holds one splits.Service per Env (the HTTP function and the
// webhook hook share it).
var services sync.Map // *app.Env -> *splits.Service

// Service builds the payment-split service over the Env.
func Service(e *app.Env) *splits.Service {
	if s, ok := services.Load(e); ok {
		return s.(*splits.Service)
	}
	smclient.Use(e) // the partner's Stripe key
	s := &splits.Service{
		Store: &splits.Store{DB: e.Store}, Routes: e.Companies, Companies: e.Companies, Keys: e.Credentials,
		Transfers: splits.StripeTransfers{Client: e.Stripe.Client}, Platform: splits.StripePlatform{Client: e.Stripe.Client},
		Connections: e.Companies, IDs: e.IDs, Now: e.Now, Log: e.Log,
	}
	actual, _ := services.LoadOrStore(e, s)
	return actual.(*splits.Service)
}

// Handler serves /v1/taxes…, /v1/partnerships…, /v1/payment-intents… and /v1/payment-splits….
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	splits.Routes(r, Service(e))
	return r.Handler()
}
