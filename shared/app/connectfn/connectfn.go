// Package connectfn builds the stripe-oauth function and the connect service
// that it, the connections function (connectionsfn), the Stripe webhook
// (account deauthorization) and the Embedded UI share.
package connectfn

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/connect"
)

// Service builds the connections service. Linking a Qualpay merchant also needs
// QualpayLinked, which only connectionsfn sets (it queues on the work queue).
func Service(e *app.Env) *connect.Service {
	smclient.Use(e) // Stripe keys and Qualpay credentials
	return &connect.Service{
		Store: e.Store, Companies: e.Companies, Partners: e.Partners, Keys: e.Credentials, Stripe: e.Stripe,
		Qualpay: connect.QualpayMerchants{HTTP: e.HTTP, BaseURL: e.Cfg.QualpayBaseURL, MaxAttempts: 2},
		Log:     e.Log, Now: e.Now, PublicBaseURL: e.Cfg.PublicBaseURL, AuthorizeURL: e.Cfg.StripeAuthorize,
		OnboardingStandInURL: e.Cfg.StripeOnboardingStandIn,
	}
}

// StripeOAuthHandler serves GET /integrations/stripe, the public OAuth redirect.
func StripeOAuthHandler(e *app.Env) http.Handler {
	r := e.Router()
	connect.OAuthRoutes(r, Service(e))
	return r.Handler()
}
