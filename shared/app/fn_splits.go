package app

import (
	"net/http"
	"sync"

	"github.com/payrecon/payrecon/shared/splits"
)

// splitServices holds one splits.Service per Env (the HTTP function and the
// webhook hook share it).
var splitServices sync.Map // *Env -> *splits.Service

// SplitsService builds the payment-split service over the Env.
func SplitsService(e *Env) *splits.Service {
	if s, ok := splitServices.Load(e); ok {
		return s.(*splits.Service)
	}
	s := &splits.Service{
		Store: &splits.Store{DB: e.Store}, Routes: e.Companies, Companies: e.Companies, Keys: e.Credentials,
		Transfers: splits.StripeTransfers{Client: e.Stripe.Client}, IDs: e.IDs, Now: e.Now, Log: e.Log,
	}
	actual, _ := splitServices.LoadOrStore(e, s)
	return actual.(*splits.Service)
}

// SplitsHandler serves /v1/taxes…, /v1/partnerships…, /v1/payment-intents… and /v1/payment-splits….
func SplitsHandler(e *Env) http.Handler {
	r := e.Router()
	splits.Routes(r, SplitsService(e))
	return r.Handler()
}
