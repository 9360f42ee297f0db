package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// StripeClients makes a Stripe API client for a secret key (stripeapi.Factory).
type StripeClients interface {
	Client(key string) *stripeapi.Clients
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
	// Now is the clock the deadline check reads (nil: never stop early).
	Now func() time.Time
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

// Itemisation tuning: Stripe's largest list page, how often progress is
// checkpointed, and how close to the invocation's deadline a job stops.
const (
	btPageSize      = 100
	checkpointEvery = 5 // pages: a crash redoes at most 500 balance transactions
	resumeMargin    = 20 * time.Second
)

// ErrResume means an itemisation stopped near the invocation's deadline after
// checkpointing: the job is retried (SQS redelivers it) and resumes there.
var ErrResume = errors.New("itemisation checkpointed before the deadline; resume on retry")

// ItemiseStripePayout streams the payout's balance transactions on the
// connected account (100 per page, sources expanded) into items: per page one
// BatchGetItem of the payments they name (invoice links, fees), fee updates in
// transactions of 25 when they changed, items in BatchWriteItem calls of 25, and
// every few pages a checkpoint (Stripe's starting_after, count, running net) on
// the payout, so a job that times out resumes where it stopped. When the pages
// end the payout is marked complete if the item nets sum exactly to its amount.
// Returns the itemisation status.
func (w *Worker) ItemiseStripePayout(ctx context.Context, pid, cid, acct, payoutID string) (string, error) {
	po, err := w.Payouts.Get(ctx, pid, cid, payoutID)
	if err != nil {
		return "", fmt.Errorf("itemise %s: %w", payoutID, err)
	}
	keys, err := w.Keys.StripeKeys(ctx, pid)
	if err != nil {
		return "", fmt.Errorf("itemise %s: %w", payoutID, err)
	}
	var pr payouts.Progress
	params := &stripe.BalanceTransactionListParams{Payout: stripe.String(payoutID)}
	if po.ItemisationStatus == payouts.ItemisationPending && po.Progress.Cursor != "" {
		pr = po.Progress // a retried job: carry on after the last checkpoint
		params.StartingAfter = stripe.String(pr.Cursor)
	}
	params.Context = ctx
	params.Limit = stripe.Int64(btPageSize)
	params.SetStripeAccount(acct)
	params.AddExpand("data.source")
	it := w.Stripe.Client(keys.SecretKey).BalanceTransactions.List(params)
	page := make([]*stripe.BalanceTransaction, 0, btPageSize)
	pages := 0
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		next, err := w.writePage(ctx, po, pr, page)
		if err != nil {
			return err
		}
		pr, page, pages = next, page[:0], pages+1
		if pages%checkpointEvery == 0 || w.nearDeadline(ctx) {
			if err := w.Payouts.Checkpoint(ctx, po, pr); err != nil {
				return err
			}
			if w.nearDeadline(ctx) {
				return ErrResume
			}
		}
		return nil
	}
	for it.Next() {
		if page = append(page, it.BalanceTransaction()); len(page) == btPageSize {
			if err := flush(); err != nil {
				return "", fmt.Errorf("itemise %s: %w", payoutID, err)
			}
		}
	}
	if err := it.Err(); err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusBadRequest {
			// Stripe cannot list this payout's lines (a manual payout, for
			// one): retrying will not help, so flag it for the exceptions list.
			w.Log.WarnContext(ctx, "stripe refused to itemise payout", "payout_id", payoutID, "partner_id", pid, "stripe_code", string(se.Code))
			return w.Payouts.FinishItems(ctx, po, payouts.Progress{})
		}
		if cerr := w.Payouts.Checkpoint(ctx, po, pr); cerr != nil {
			w.Log.WarnContext(ctx, "itemisation checkpoint failed", "payout_id", payoutID, "err", cerr)
		}
		return "", fmt.Errorf("list balance transactions of %s: %w", payoutID, err)
	}
	if err := flush(); err != nil && !errors.Is(err, ErrResume) {
		return "", fmt.Errorf("itemise %s: %w", payoutID, err)
	}
	status, err := w.Payouts.FinishItems(ctx, po, pr)
	if err != nil {
		return "", err
	}
	if status != payouts.ItemisationComplete {
		w.Log.WarnContext(ctx, "payout itemisation incomplete", "payout_id", payoutID, "partner_id", pid,
			"amount", po.Amount, "items_net", pr.Net, "items", pr.Count)
	}
	return status, nil
}

// writePage turns one page of balance transactions into items: it links them
// to our payments (and so invoices) with one BatchGetItem, records fees that
// changed, and writes the items. The returned progress points after the page.
func (w *Worker) writePage(ctx context.Context, po payouts.Payout, pr payouts.Progress, page []*stripe.BalanceTransaction) (payouts.Progress, error) {
	items := make([]payouts.Item, 0, len(page))
	ids := make([]string, 0, len(page))
	for _, bt := range page {
		if bt.Type == stripe.BalanceTransactionTypePayout {
			continue // the payout's own line: the items are what it pays out
		}
		item := ItemFromBalanceTransaction(bt)
		items = append(items, item)
		if item.PaymentID != "" {
			ids = append(ids, item.PaymentID)
		}
	}
	known, err := w.Payments.GetMany(ctx, po.PartnerID, po.CompanyID, ids)
	if err != nil {
		return pr, err
	}
	var fees []payments.FeeUpdate
	for i := range items {
		p, ok := known[items[i].PaymentID]
		if !ok {
			continue
		}
		items[i].InvoiceID = p.InvoiceID
		if isPaymentLine(items[i].Type) && (!p.FeeKnown || p.Fee != items[i].Fee) {
			fees = append(fees, payments.FeeUpdate{ID: p.ID, Gross: items[i].Amount, Fee: items[i].Fee})
			p.FeeKnown, p.Fee = true, items[i].Fee // a payment twice on one page is updated once
			known[p.ID] = p
		}
	}
	if err := w.Payments.SetFees(ctx, po.PartnerID, po.CompanyID, fees); err != nil {
		return pr, err
	}
	next, err := w.Payouts.WriteItems(ctx, po, pr, items)
	if err != nil {
		return pr, err
	}
	next.Cursor = page[len(page)-1].ID
	return next, nil
}

// nearDeadline reports whether the invocation is about to time out.
func (w *Worker) nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	if !ok || w.Now == nil {
		return false
	}
	return dl.Sub(w.Now()) < resumeMargin
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
