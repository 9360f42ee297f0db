package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/qualpayrecon"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/store"
)

// QualpayPuller turns a merchant's Qualpay deposits into itemised payouts.
// Every job carries its own date range (deposits posted Since..Until); the
// rows that explain them (settled transactions, statement settlement lines,
// statement fees) are read from qualpayRowsBefore business days earlier.
type QualpayPuller struct {
	Keys    Keys
	HTTP    *http.Client
	BaseURL string // overrides the environment's host (a fake in tests)
	Payouts *payouts.Store
	Now     func() time.Time
	Log     *slog.Logger
	// Pulls keeps the per-merchant cursor (optional: without it nothing is
	// remembered between jobs).
	Pulls *QualpayPulls
	// Routes, when set, is checked first: a job for a merchant no longer
	// linked to the company does nothing (and forgets its cursor).
	Routes RouteLookup
	// Invoices, when set, lets a settled transaction's purchase_id pay the
	// invoice it names (see payInvoice).
	Invoices *invoices.Store
	// Itemise bounds the fallback search (zero value = qualpayrecon defaults).
	Itemise qualpayrecon.Config
	// PageSize is rows per reporting request (0 = the client's default, 100).
	PageSize int
}

// qualpayRowsBefore: a deposit's transactions settled at most this many
// business days before it posted (the fallback window plus the lookback for
// late postings), so rows are read from that far before the job's Since.
const qualpayRowsBefore = QualpayLookbackBusinessDays + 5

// qualpayContextDays: deposits posted this many business days before a
// job's range are itemised as context (the fallback window plus two).
const qualpayContextDays = 7

// PullDeposits reads the merchant's deposits posted in the job's range,
// itemises each (qualpayrecon.Itemise) and writes only what changed, so a
// rerun writes nothing. A job without a range (queued by an older build)
// pulls the lookback window.
func (p *QualpayPuller) PullDeposits(ctx context.Context, j queue.Job) error {
	mid, err := strconv.ParseInt(j.AccountID, 10, 64)
	if err != nil || mid <= 0 {
		return fmt.Errorf("qualpay pull: bad merchant id: %w", queue.ErrPermanent)
	}
	from, to, err := p.jobRange(j)
	if err != nil {
		return err
	}
	if p.Routes != nil {
		rt, err := p.Routes.LookupRoute(ctx, "qualpay", j.AccountID)
		if apperr.Is(err, apperr.NotFound) || err == nil && (rt.PartnerID != j.PartnerID || rt.CompanyID != j.CompanyID) {
			if p.Pulls != nil {
				return p.Pulls.forget(ctx, j.PartnerID, j.CompanyID, j.AccountID)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	var st pullState
	registered := false
	if p.Pulls != nil {
		if st, registered, err = p.Pulls.state(ctx, j.PartnerID, j.CompanyID, j.AccountID); err != nil {
			return err
		}
		if !registered && p.Routes != nil {
			// A merchant linked before scheduled pulls existed joins them on
			// its first pull (a webhook's); the link was checked just above.
			if st, err = p.Pulls.register(ctx, j.PartnerID, j.CompanyID, j.AccountID); err != nil {
				return err
			}
			registered = true
		}
	}
	keys, err := p.Keys.QualpayKeys(ctx, j.PartnerID)
	if err != nil {
		return fmt.Errorf("qualpay pull: %w", err)
	}
	cl, err := qualpay.New(qualpay.Config{Environment: keys.Environment, BaseURL: p.BaseURL, SecurityKey: keys.SecurityKey, HTTPClient: p.HTTP})
	if err != nil {
		return fmt.Errorf("qualpay pull: %w", err)
	}
	rep, err := p.fetch(ctx, cl, mid, from, to, func(deps []qualpay.Deposit) bool { return p.anyOpen(ctx, j, deps) })
	if err != nil {
		return err
	}
	rep.Currency = st.Currency
	learned := ""
	for _, res := range qualpayrecon.Itemise(rep, p.Itemise) {
		if post, err := qualpay.ParseDate(res.Deposit.PostDateActual); err == nil && post.Before(from) {
			continue // context only: another job's range
		}
		if err := p.store(ctx, j, res); err != nil {
			return err
		}
		if res.Currency != "" && res.Issue != qualpayrecon.IssueCurrency {
			learned = res.Currency
		}
	}
	if registered {
		return p.Pulls.advance(ctx, st, to.Format(time.DateOnly), learned)
	}
	return nil
}

// anyOpen reports whether a deposit is not yet recorded as a complete payout
// with the same amount, post date and reference (a read error counts as open).
func (p *QualpayPuller) anyOpen(ctx context.Context, j queue.Job, deps []qualpay.Deposit) bool {
	for _, d := range deps {
		po, err := p.Payouts.Get(ctx, j.PartnerID, j.CompanyID, DepositPayoutID(j.AccountID, d.RecID))
		if err != nil || po.ItemisationStatus != payouts.ItemisationComplete {
			return true
		}
		amt, err := d.AmtACH.Minor(po.Currency)
		post, perr := qualpay.ParseDate(d.PostDateActual)
		if err != nil || perr != nil || amt != po.Amount || post.Format(time.DateOnly) != po.ArrivalDate ||
			strings.TrimSpace(d.ReferenceNumber) != po.Reference {
			return true
		}
	}
	return false
}

func (p *QualpayPuller) jobRange(j queue.Job) (from, to time.Time, err error) {
	now := p.Now().UTC()
	to = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from = qualpayrecon.AddBusinessDays(to, -QualpayLookbackBusinessDays)
	if j.Until != "" {
		if to, err = time.Parse(time.DateOnly, j.Until); err != nil {
			return from, to, fmt.Errorf("qualpay pull: bad until %q: %w", j.Until, queue.ErrPermanent)
		}
	}
	if j.Since != "" {
		if from, err = time.Parse(time.DateOnly, j.Since); err != nil {
			return from, to, fmt.Errorf("qualpay pull: bad since %q: %w", j.Since, queue.ErrPermanent)
		}
	}
	if from.After(to) || to.Sub(from) > QualpayMaxRangeDays*24*time.Hour {
		return from, to, fmt.Errorf("qualpay pull: range %s..%s is empty or over %d days: %w",
			from.Format(time.DateOnly), to.Format(time.DateOnly), QualpayMaxRangeDays, queue.ErrPermanent)
	}
	return from, to, nil
}

// fetch reads the deposits of the range and, when there are any, the rows
// that may explain them. A quiet range costs one request.
//
// need reports whether any deposit still needs its rows: an hourly tick
// rereads the lookback window, and deposits already recorded complete with
// the same amount, date and reference cost no further Qualpay request. When
// one needs work, every deposit of the window is itemised again (rows a
// recorded deposit claimed must not look free to the others) and store
// writes only what changed.
func (p *QualpayPuller) fetch(ctx context.Context, cl *qualpay.Client, mid int64, from, to time.Time, need func([]qualpay.Deposit) bool) (qualpayrecon.Reports, error) {
	rep := qualpayrecon.Reports{MerchantID: mid}
	q := func(field, a, b string) qualpay.ReportQuery {
		return qualpay.ReportQuery{PageSize: p.PageSize, MerchantID: mid, Filters: []qualpay.Filter{qualpay.Between(field, a, b)}}
	}
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	// Deposits from a week before the range are read too: they claim their
	// own batches, so a deposit in the range found by the batch fallback
	// cannot take them (only deposits in the range are written).
	deps, err := cl.DepositsAll(ctx, q("post_date_actual", day(qualpayrecon.AddBusinessDays(from, -qualpayContextDays)), day(to)))
	if err != nil {
		return rep, fmt.Errorf("qualpay pull deposits: %w", err)
	}
	var inRange []qualpay.Deposit
	for _, d := range deps {
		if d.MerchantID != 0 && d.MerchantID != mid { // never file another merchant's deposit here
			continue
		}
		rep.Deposits = append(rep.Deposits, d)
		if post, err := qualpay.ParseDate(d.PostDateActual); err != nil || !post.Before(from) {
			inRange = append(inRange, d)
		}
	}
	if len(inRange) == 0 || !need(inRange) {
		rep.Deposits = nil
		return rep, nil
	}
	rowsFrom := day(qualpayrecon.AddBusinessDays(from, -qualpayRowsBefore))
	if rep.Transactions, err = cl.SettledTransactionsAll(ctx, q("batch_date", rowsFrom, day(to))); err != nil {
		return rep, fmt.Errorf("qualpay pull transactions: %w", err)
	}
	if rep.Settlements, err = cl.SettlementStatementAll(ctx, q("batch_date", rowsFrom, day(to))); err != nil {
		return rep, fmt.Errorf("qualpay pull settlement: %w", err)
	}
	// Monthly fee debits post early in the month after their billing month.
	monthFrom := time.Date(from.Year(), from.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	if rep.Fees, err = cl.StatementFeesAll(ctx, q("billing_month", day(monthFrom), day(to))); err != nil {
		return rep, fmt.Errorf("qualpay pull statement fees: %w", err)
	}
	return rep, nil
}

// DepositPayoutID is the payout ID of a Qualpay deposit.
func DepositPayoutID(merchant string, recID int64) string {
	return qualpayrecon.PayoutID(merchant, recID)
}

// store writes one explained deposit as a payout and its items, unless the
// stored payout already says the same.
func (p *QualpayPuller) store(ctx context.Context, j queue.Job, res qualpayrecon.Result) error {
	po, ok := qualpayrecon.Payout(res, j.PartnerID, j.CompanyID, j.AccountID)
	if !ok {
		// Without a currency the amount cannot be read (its exponent is
		// unknown) and it is never assumed: a later pull that sees one of the
		// merchant's transactions records it.
		p.Log.WarnContext(ctx, "qualpay deposit not recorded yet", "rec_id", res.Deposit.RecID, "issue", res.Issue, "note", res.Note)
		return nil
	}
	po.UpdatedAt = p.Now().UTC()
	id := po.ID
	items := slices.Clone(res.Items)
	existing, err := p.Payouts.Get(ctx, j.PartnerID, j.CompanyID, id)
	switch {
	case err == nil:
		if same, err := p.unchanged(ctx, existing, po, items); err != nil || same {
			return err
		}
	case !apperr.Is(err, apperr.NotFound):
		return err
	}
	if err := p.linkInvoices(ctx, j, res, items); err != nil {
		return err
	}
	if err := p.Payouts.Upsert(ctx, po); err != nil && !errors.Is(err, payouts.ErrStale) {
		return err
	}
	status, err := p.Payouts.SetItems(ctx, po, items)
	if err != nil {
		return err
	}
	if status != payouts.ItemisationComplete {
		p.Log.WarnContext(ctx, "qualpay deposit not explained", "payout_id", id, "issue", res.Issue, "note", res.Note)
	}
	return nil
}

// unchanged reports whether the stored payout already holds po and items
// (invoice links aside: they are resolved only when an itemisation changes).
func (p *QualpayPuller) unchanged(ctx context.Context, old, po payouts.Payout, items []payouts.Item) (bool, error) {
	want := payouts.ItemisationComplete
	if payouts.SumNet(items) != po.Amount {
		want = payouts.ItemisationIncomplete
	}
	if old.Amount != po.Amount || old.Currency != po.Currency || old.ArrivalDate != po.ArrivalDate || old.Descriptor != po.Descriptor ||
		old.Reference != po.Reference || old.ItemisationStatus != want || old.ItemCount != len(items) ||
		(want != payouts.ItemisationComplete && (old.ItemisationIssue != po.ItemisationIssue || old.ItemisationNote != po.ItemisationNote)) {
		return false, nil
	}
	stored, err := p.Payouts.Items(ctx, old.PartnerID, old.CompanyID, old.ID)
	if err != nil {
		return false, err
	}
	if len(stored) != len(items) {
		return false, nil
	}
	for i := range items {
		a, b := stored[i], items[i]
		a.PayoutID, a.Seq, a.InvoiceID, b.PayoutID, b.Seq, b.InvoiceID = "", 0, "", "", 0, ""
		if a != b {
			return false, nil
		}
	}
	return true, nil
}

// linkInvoices: a settled sale whose purchase_id names an invoice pays it
// and the item carries the invoice (so reconciliation marks it reconciled).
func (p *QualpayPuller) linkInvoices(ctx context.Context, j queue.Job, res qualpayrecon.Result, items []payouts.Item) error {
	if p.Invoices == nil {
		return nil
	}
	for i := range items {
		ref := res.Purchases[items[i].SourceID]
		if ref == "" || items[i].Type != payouts.ItemCharge {
			continue
		}
		invID, err := p.payInvoice(ctx, j.PartnerID, j.CompanyID, ref, items[i].PaymentID, items[i].Amount, items[i].Currency)
		if err != nil {
			return err
		}
		items[i].InvoiceID = invID
	}
	return nil
}

// payInvoice applies one Qualpay payment to the invoice its purchase_id names
// (our inv_ ID, the partner's external_id, or the invoice number: Qualpay
// describes purchase_id as "the invoice number generated by the merchant").
// The rule is the one every provider uses (invoices.Store.ApplyPayment): the
// payment adds to amount_paid once, in the invoice's currency only; paid when
// the total covers the amount due, partially_paid below it, an exception for
// overpayment or another currency. Returns the invoice ID when the payment
// counts toward it (so reconciliation can reconcile the invoice once every
// payment that paid it is matched).
func (p *QualpayPuller) payInvoice(ctx context.Context, pid, cid, ref, paymentID string, amount int64, cur string) (string, error) {
	// The write is conditional on the invoice item as read, and any change of
	// it (another payment's link, a match's flags) fails it: read and apply
	// again. The deposit's items are stored after this, and a later pull of an
	// unchanged deposit does not come back here, so a dropped write would
	// leave the payment uncounted for good; after the attempts, the job fails
	// and is retried before anything is stored.
	for attempt := 0; ; attempt++ {
		inv, err := p.Invoices.Resolve(ctx, pid, cid, ref, ref)
		if apperr.Is(err, apperr.NotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		txs, _, err := p.Invoices.ApplyPayment(ctx, inv, invoices.Received{PaymentID: paymentID, State: invoices.PaymentSucceeded, Amount: amount, Currency: cur})
		if apperr.Is(err, apperr.Invalid) {
			// Qualpay's own data out of bounds (an ID or amount the invoice
			// cannot record): a retry would fail the same way and hold back
			// the whole deposit, so the payment pays no invoice.
			p.Log.WarnContext(ctx, "qualpay payment not applied to its invoice", "payment_id", paymentID, "invoice_id", inv.ID, "reason", err.Error())
			return "", nil
		}
		if err != nil {
			return "", err
		}
		if len(txs) > 0 {
			if err := p.Invoices.DB.Transact(ctx, txs); err != nil {
				if errors.Is(err, store.ErrConditionFailed) && attempt < 2 {
					continue
				}
				return "", fmt.Errorf("pay invoice %s: %w", inv.ID, err)
			}
		}
		if !strings.EqualFold(inv.Currency, cur) || inv.Status == invoices.StatusVoid {
			return "", nil
		}
		return inv.ID, nil
	}
}
