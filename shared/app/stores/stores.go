// Package stores builds the invoice, payment and payout stores over an Env's table.
package stores

import (
	"context"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

// Invoices is the invoice store.
func Invoices(e *app.Env) *invoices.Store {
	return &invoices.Store{DB: e.Store, IDs: e.IDs, Now: e.Now}
}

// Payments is the payment store.
func Payments(e *app.Env) *payments.Store { return &payments.Store{DB: e.Store, Now: e.Now} }

// Payouts is the payout store. Ingestion marks each changed payout for
// reconciliation (reconsvc.MarkPayoutChanged), so runs read only changed payouts.
func Payouts(e *app.Env) *payouts.Store {
	return &payouts.Store{DB: e.Store, IDs: e.IDs, Now: e.Now, OnChange: func(ctx context.Context, p payouts.Payout) error {
		return reconsvc.MarkPayoutChanged(ctx, e.Store, p, e.Now())
	}}
}
