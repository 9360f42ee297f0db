// Package paymentsfn builds the payments function.
package paymentsfn

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payments"
)

// Handler serves /v1/companies/{id}/invoices…, …/payments and …/payouts.
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	invoices.Routes(r, stores.Invoices(e), e.Companies)
	payments.Routes(r, stores.Payments(e), stores.Payouts(e), e.Companies)
	return r.Handler()
}
