package app

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/webhooks"
)

// QualpayWebhookHandler serves POST /qualpay and POST /qualpay/{partner_id}.
func QualpayWebhookHandler(e *Env) http.Handler {
	r := e.Router()
	webhooks.QualpayRoutes(r, WebhookService(e))
	return r.Handler()
}
