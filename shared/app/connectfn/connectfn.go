// Package connectfn builds the connections and stripe-oauth functions (both
// serve the connect package) and the connect service the Stripe webhook uses
// for account deauthorization.
package connectfn

import (
	"context"
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/connect"
)

// Service builds the connections service.
func Service(e *app.Env) *connect.Service {
	smclient.Use(e) // Stripe keys and Qualpay credentials
	return &connect.Service{
		Store: e.Store, Companies: e.Companies, Partners: e.Partners, Keys: e.Credentials, Stripe: e.Stripe,
		Qualpay: connect.QualpayMerchants{HTTP: e.HTTP, BaseURL: e.Cfg.QualpayBaseURL, MaxAttempts: 2},
		Log:     e.Log, Now: e.Now, PublicBaseURL: e.Cfg.PublicBaseURL, AuthorizeURL: e.Cfg.StripeAuthorize,
		OnboardingStandInURL: e.Cfg.StripeOnboardingStandIn,
		QualpayLinked: func(ctx context.Context, pid, cid, mid string) error {
			return workerfn.QualpayPulls(e).Linked(ctx, pid, cid, mid)
		},
	}
}

// ConnectionsHandler serves /v1/companies… (companies, Start Stripe Flow, link, disconnect).
func ConnectionsHandler(e *app.Env) http.Handler {
	r := e.Router()
	connect.Routes(r, Service(e))
	return r.Handler()
}

// StripeOAuthHandler serves GET /integrations/stripe, the public OAuth redirect.
func StripeOAuthHandler(e *app.Env) http.Handler {
	r := e.Router()
	connect.OAuthRoutes(r, Service(e))
	return r.Handler()
}
