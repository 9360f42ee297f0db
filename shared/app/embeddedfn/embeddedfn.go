// Package embeddedfn builds the embedded function: embed sessions and the
// Embedded UI page with its API over the connect, payouts and reconciliation services.
package embeddedfn

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/app/reconfn"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/embed"
)

// Service builds the embed service over the Env.
func Service(e *app.Env) *embed.Service {
	return &embed.Service{
		Store: e.Store, Companies: e.Companies, Connect: connectfn.Service(e), Payouts: stores.Payouts(e),
		Recon: reconfn.Service(e), Now: e.Now, Token: e.IDs.Token, PublicBaseURL: e.Cfg.PublicBaseURL, Log: e.Log,
	}
}

// Handler serves POST /v1/companies/{id}/embed-sessions, /v1/embed-settings and /embed….
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	embed.Routes(r, Service(e))
	return r.Handler()
}
