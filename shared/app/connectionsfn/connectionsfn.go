// Package connectionsfn builds the connections function: the connect service
// plus the Qualpay backfill that linking a merchant queues on the work queue.
// It is its own package so that stripe-oauth, the Stripe webhook and the
// Embedded UI, which share connectfn.Service but never link a Qualpay
// merchant, do not link the work queue (SQS) and the worker builder.
package connectionsfn

import (
	"context"
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/connect"
)

// Handler serves /v1/companies… (companies, Start Stripe Flow, link, disconnect).
func Handler(e *app.Env) http.Handler {
	s := connectfn.Service(e)
	s.QualpayLinked = func(ctx context.Context, pid, cid, mid string) error {
		return workerfn.QualpayPulls(e).Linked(ctx, pid, cid, mid)
	}
	r := e.Router()
	connect.Routes(r, s)
	return r.Handler()
}
