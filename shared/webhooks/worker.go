package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/queue"
)

// StripeClients makes a Stripe API client for a secret key (stripeapi.Factory).
type StripeClients interface {
	Client(key string) *client.API
}

// DepositPuller pulls a Qualpay merchant's deposits into payouts (see qualpay_pull.go).
type DepositPuller interface {
	PullDeposits(ctx context.Context, j queue.Job) error
}

// Worker runs queued jobs. It is the SQS consumer in Lambda and runs
// in-process locally; every job is idempotent.
type Worker struct {
	Keys     Keys
	Stripe   StripeClients
	Payouts  *payouts.Store
	Payments *payments.Store
	Qualpay  DepositPuller // optional
	// AccountUpdater applies Qualpay Account Updater results (optional).
	AccountUpdater AccountUpdater
	Log            *slog.Logger
}

// AccountUpdater applies a company's Qualpay Account Updater results to its
// vault customers (the vault service). It must be idempotent.
type AccountUpdater interface {
	AccountUpdaterCompleted(ctx context.Context, partnerID, companyID string) error
}

// Handle runs one job.
func (w *Worker) Handle(ctx context.Context, j queue.Job) error {
	if err := j.Validate(); err != nil {
		return err
	}
	switch j.Kind {
	case queue.KindStripeItemisePayout:
		_, err := w.ItemiseStripePayout(ctx, j.PartnerID, j.CompanyID, j.AccountID, j.ObjectID)
		return err
	case queue.KindQualpayPullDeposits:
		if w.Qualpay == nil {
			return fmt.Errorf("no Qualpay puller configured")
		}
		return w.Qualpay.PullDeposits(ctx, j)
	case queue.KindQualpayAccountUpdater:
		if w.AccountUpdater == nil {
			return fmt.Errorf("no Account Updater configured")
		}
		return w.AccountUpdater.AccountUpdaterCompleted(ctx, j.PartnerID, j.CompanyID)
	}
	return fmt.Errorf("unknown job kind %q", j.Kind)
}

// ItemiseStripePayout lists the payout's balance transactions on the connected
// account (all pages, sources expanded), stores them as items and marks the
// payout complete when their nets sum exactly to its amount. Returns the
// itemisation status.
func (w *Worker) ItemiseStripePayout(ctx context.Context, pid, cid, acct, payoutID string) (string, error) {
	po, err := w.Payouts.Get(ctx, pid, cid, payoutID)
	if err != nil {
		return "", fmt.Errorf("itemise %s: %w", payoutID, err)
	}
	keys, err := w.Keys.StripeKeys(ctx, pid)
	if err != nil {
		return "", fmt.Errorf("itemise %s: %w", payoutID, err)
	}
	params := &stripe.BalanceTransactionListParams{Payout: stripe.String(payoutID)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	params.SetStripeAccount(acct)
	params.AddExpand("data.source")
	it := w.Stripe.Client(keys.SecretKey).BalanceTransactions.List(params)
	var items []payouts.Item
	for it.Next() {
		bt := it.BalanceTransaction()
		if bt.Type == stripe.BalanceTransactionTypePayout {
			continue // the payout's own line: the items are what it pays out
		}
		items = append(items, ItemFromBalanceTransaction(bt))
	}
	if err := it.Err(); err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusBadRequest {
			// Stripe cannot list this payout's lines (a manual payout, for
			// one): retrying will not help, so flag it for the exceptions list.
			w.Log.WarnContext(ctx, "stripe refused to itemise payout", "payout_id", payoutID, "partner_id", pid, "stripe_code", string(se.Code))
			return w.Payouts.SetItems(ctx, po, nil)
		}
		return "", fmt.Errorf("list balance transactions of %s: %w", payoutID, err)
	}
	// Link items to our payments (and so invoices), and record the fees now known.
	for i := range items {
		if items[i].PaymentID == "" {
			continue
		}
		p, err := w.Payments.Get(ctx, pid, cid, items[i].PaymentID)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				continue
			}
			return "", err
		}
		items[i].InvoiceID = p.InvoiceID
		if isPaymentLine(items[i].Type) && (!p.FeeKnown || p.Fee != items[i].Fee) {
			if err := w.Payments.SetFee(ctx, pid, cid, p.ID, items[i].Amount, items[i].Fee); err != nil {
				return "", err
			}
		}
	}
	status, err := w.Payouts.SetItems(ctx, po, items)
	if err != nil {
		return "", err
	}
	if status != payouts.ItemisationComplete {
		w.Log.WarnContext(ctx, "payout itemisation incomplete", "payout_id", payoutID, "partner_id", pid,
			"amount", po.Amount, "items_net", payouts.SumNet(items), "items", len(items))
	}
	return status, nil
}

func isPaymentLine(t string) bool { return t == payouts.ItemCharge || t == payouts.ItemPayment }

// ItemFromBalanceTransaction maps one Stripe balance transaction to an item.
func ItemFromBalanceTransaction(bt *stripe.BalanceTransaction) payouts.Item {
	it := payouts.Item{
		SourceID: bt.ID, Type: ItemType(string(bt.Type), string(bt.ReportingCategory)), Amount: bt.Amount, Fee: bt.Fee, Net: bt.Net,
		Currency: strings.ToUpper(string(bt.Currency)), Description: bt.Description, Created: bt.Created,
	}
	if src := bt.Source; src != nil {
		switch {
		case src.Charge != nil && src.Charge.PaymentIntent != nil && src.Charge.PaymentIntent.ID != "":
			it.PaymentID = src.Charge.PaymentIntent.ID
		case src.Charge != nil:
			it.PaymentID = src.Charge.ID
		case src.Refund != nil && src.Refund.PaymentIntent != nil && src.Refund.PaymentIntent.ID != "":
			it.PaymentID = src.Refund.PaymentIntent.ID
		case src.Refund != nil && src.Refund.Charge != nil:
			it.PaymentID = src.Refund.Charge.ID
		case src.Dispute != nil && src.Dispute.PaymentIntent != nil && src.Dispute.PaymentIntent.ID != "":
			it.PaymentID = src.Dispute.PaymentIntent.ID
		case strings.HasPrefix(src.ID, "ch_") || strings.HasPrefix(src.ID, "py_"):
			it.PaymentID = src.ID
		}
	}
	return it
}

// ItemType maps Stripe's balance transaction type and reporting category to ours.
func ItemType(typ, category string) string {
	switch category {
	case "dispute", "dispute_reversal":
		return payouts.ItemDispute
	}
	switch typ {
	case "charge":
		return payouts.ItemCharge
	case "payment":
		return payouts.ItemPayment
	case "refund", "payment_refund", "payment_failure_refund", "refund_failure", "payment_reversal":
		return payouts.ItemRefund
	case "adjustment":
		return payouts.ItemAdjustment
	case "stripe_fee", "stripe_fx_fee", "tax_fee":
		return payouts.ItemFee
	case "contribution", "climate_order_purchase", "climate_order_refund":
		return payouts.ItemClimate
	case "application_fee", "application_fee_refund":
		return payouts.ItemApplicationFee
	case "payout_failure", "payout_cancel":
		return payouts.ItemPayoutFailure
	}
	return payouts.ItemOther
}
