package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/demo"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/webhooks/example"
)

// playExample plays the published worked example into the demo company through
// the running API (signed Stripe webhooks, the same path a real delivery takes):
// four $1,000.00 invoices paid by card with $25.00 fees, a $10.00 Stripe Climate
// contribution and one $3,890.00 payout, itemised by the worker.
func playExample(ctx context.Context, l *local, base string) (string, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	ids, err := example.Run(ctx, hc, base, l.Demo.APIKey, l.Demo.CompanyID, demo.StripeAccountID, demo.StripeWebhookSecret, l.Balance, time.Now().UTC())
	if err != nil {
		return "", err
	}
	app.LocalQueue(l.Env).Wait() // itemisation runs on the in-process queue
	p, err := app.PayoutStore(l.Env).Get(ctx, l.Demo.PartnerID, l.Demo.CompanyID, example.PayoutID)
	if err != nil {
		return "", err
	}
	items, err := app.PayoutStore(l.Env).Items(ctx, l.Demo.PartnerID, l.Demo.CompanyID, example.PayoutID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Worked example played into the demo company: invoices %s paid;\n", strings.Join(ids, ", "))
	fmt.Fprintf(&b, "payout %s %s %s (%s), %d items summing to %s:\n", p.ID, money.Format(p.Amount, p.Currency), p.Currency, p.ItemisationStatus, len(items), money.Format(payouts.SumNet(items), p.Currency))
	for _, it := range items {
		fmt.Fprintf(&b, "  %-16s gross %10s  fee %8s  net %10s\n", it.Type, money.Format(it.Amount, it.Currency), money.Format(it.Fee, it.Currency), money.Format(it.Net, it.Currency))
	}
	return b.String(), nil
}
