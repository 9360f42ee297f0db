package app

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payments"
)

// PaymentsHandler serves /v1/companies/{id}/invoices…, …/payments and …/payouts.
func PaymentsHandler(e *Env) http.Handler {
	r := e.Router()
	invoices.Routes(r, InvoiceStore(e), e.Companies)
	payments.Routes(r, PaymentStore(e), PayoutStore(e), e.Companies)
	return r.Handler()
}
