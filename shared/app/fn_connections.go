package app

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/connect"
)

// ConnectService builds the connections service (shared by the connections and
// stripe-oauth functions, and by the Stripe webhook for account deauthorization).
func ConnectService(e *Env) *connect.Service {
	return &connect.Service{
		Store: e.Store, Companies: e.Companies, Partners: e.Partners, Keys: e.Credentials, Stripe: e.Stripe,
		Qualpay: connect.QualpayMerchants{HTTP: e.HTTP, BaseURL: e.Cfg.QualpayBaseURL, MaxAttempts: 2},
		Log:     e.Log, Now: e.Now, PublicBaseURL: e.Cfg.PublicBaseURL, AuthorizeURL: e.Cfg.StripeAuthorize,
	}
}

// ConnectionsHandler serves /v1/companies… (companies, Start Stripe Flow, link, disconnect).
func ConnectionsHandler(e *Env) http.Handler {
	r := e.Router()
	connect.Routes(r, ConnectService(e))
	return r.Handler()
}
