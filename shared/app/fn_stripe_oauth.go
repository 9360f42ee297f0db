package app

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/connect"
)

// StripeOAuthHandler serves GET /integrations/stripe, the public OAuth redirect.
func StripeOAuthHandler(e *Env) http.Handler {
	r := e.Router()
	connect.OAuthRoutes(r, ConnectService(e))
	return r.Handler()
}
