package app

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/webhooks"
)

// StripeWebhookHandler serves POST /stripe and POST /stripe/{partner_id}.
func StripeWebhookHandler(e *Env) http.Handler {
	r := e.Router()
	webhooks.StripeRoutes(r, WebhookService(e))
	return r.Handler()
}
