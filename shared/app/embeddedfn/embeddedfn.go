// Package embeddedfn builds the embedded function: embed sessions and the
// Embedded UI page with its API over the connect, payouts and reconciliation
// services. The page's reconciliation writes are served by the reconcile
// function (reconfn.ReconcileHandler, embed.MatchRoutes).
package embeddedfn

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/app/reconfn"
	"github.com/payrecon/payrecon/shared/embed"
)

// Service builds the embed service over the Env, with the connect service.
func Service(e *app.Env) *embed.Service {
	s := reconfn.EmbedService(e)
	s.Connect = connectfn.Service(e)
	return s
}

// Handler serves POST /v1/companies/{id}/embed-sessions, /v1/embed-settings and /embed….
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	embed.Routes(r, Service(e))
	return r.Handler()
}
