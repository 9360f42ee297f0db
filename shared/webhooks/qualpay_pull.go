package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/queue"
)

// QualpayPuller turns a merchant's Qualpay deposits into itemised payouts.
type QualpayPuller struct {
	Keys    Keys
	HTTP    *http.Client
	BaseURL string // overrides the environment's host (a fake in tests)
	Payouts *payouts.Store
	Now     func() time.Time
	Log     *slog.Logger
	// Window is how far back a pull without Since looks (default 7 days).
	Window time.Duration
	// PageSize is rows per reporting request (0 = the client's default, 100).
	PageSize int
}

// PullDeposits reads the merchant's deposits in the job's window and stores each
// as a payout itemised by its settled transactions and settlement fees.
// Deposits already itemised completely are left alone, so re-running is cheap.
func (p *QualpayPuller) PullDeposits(ctx context.Context, j queue.Job) error {
	mid, err := strconv.ParseInt(j.AccountID, 10, 64)
	if err != nil || mid <= 0 {
		return fmt.Errorf("qualpay pull: bad merchant id: %w", queue.ErrPermanent)
	}
	keys, err := p.Keys.QualpayKeys(ctx, j.PartnerID)
	if err != nil {
		return fmt.Errorf("qualpay pull: %w", err)
	}
	cl, err := qualpay.New(qualpay.Config{Environment: keys.Environment, BaseURL: p.BaseURL, SecurityKey: keys.SecurityKey, HTTPClient: p.HTTP})
	if err != nil {
		return fmt.Errorf("qualpay pull: %w", err)
	}
	now := p.Now().UTC()
	window := p.Window
	if window <= 0 {
		window = 7 * 24 * time.Hour
	}
	from, to := firstNonEmpty(j.Since, now.Add(-window).Format(time.DateOnly)), firstNonEmpty(j.Until, now.Format(time.DateOnly))
	deps, err := cl.DepositsAll(ctx, qualpay.ReportQuery{PageSize: p.PageSize, MerchantID: mid, Filters: []qualpay.Filter{qualpay.Between("post_date_actual", from, to)}})
	if err != nil {
		return fmt.Errorf("qualpay pull deposits: %w", err)
	}
	for _, d := range deps {
		if d.MerchantID != 0 && d.MerchantID != mid {
			continue // never file another merchant's deposit under this company
		}
		if err := p.pullOne(ctx, cl, j, mid, d); err != nil {
			return err
		}
	}
	return nil
}

// DepositPayoutID is the payout ID of a Qualpay deposit.
func DepositPayoutID(merchant string, recID int64) string {
	return "qp_" + merchant + "_" + strconv.FormatInt(recID, 10)
}

func (p *QualpayPuller) pullOne(ctx context.Context, cl *qualpay.Client, j queue.Job, mid int64, d qualpay.Deposit) error {
	const cur = "USD" // Qualpay funds US merchants in USD (amt_ach)
	amount, err := d.NetMinor()
	if err != nil {
		p.Log.WarnContext(ctx, "qualpay deposit with a bad amount", "rec_id", d.RecID, "err", err)
		return nil
	}
	post, err := time.Parse("2006-01-02", dateOnly(d.PostDateActual))
	if err != nil {
		p.Log.WarnContext(ctx, "qualpay deposit with a bad post date", "rec_id", d.RecID)
		return nil
	}
	id := DepositPayoutID(j.AccountID, d.RecID)
	existing, err := p.Payouts.Get(ctx, j.PartnerID, j.CompanyID, id)
	switch {
	case err == nil && existing.ItemisationStatus == payouts.ItemisationComplete && existing.Amount == amount:
		return nil
	case err != nil && !apperr.Is(err, apperr.NotFound):
		return err
	}
	po := payouts.Payout{
		PartnerID: j.PartnerID, CompanyID: j.CompanyID, ID: id, Provider: payouts.Qualpay, AccountID: j.AccountID,
		Amount: amount, Currency: cur, Status: payouts.StatusPaid, Automatic: true, ArrivalDate: post.Format("2006-01-02"),
		Descriptor: strings.TrimSpace(d.ACHDescription), Reference: strings.TrimSpace(d.ReferenceNumber),
		ProviderUpdated: post.Unix(), CreatedAt: post, UpdatedAt: p.Now().UTC(),
	}
	if err := p.Payouts.Upsert(ctx, po); err != nil && !errors.Is(err, payouts.ErrStale) {
		return err
	}
	day := po.ArrivalDate
	txns, err := cl.SettledTransactionsAll(ctx, qualpay.ReportQuery{PageSize: p.PageSize, MerchantID: mid, Filters: []qualpay.Filter{qualpay.Eq("settle_date", day)}})
	if err != nil {
		return fmt.Errorf("qualpay pull transactions: %w", err)
	}
	from, to := day, day
	for _, t := range txns {
		if bd := dateOnly(t.BatchDate); bd != "" && bd < from {
			from = bd
		}
	}
	sets, err := cl.SettlementStatementAll(ctx, qualpay.ReportQuery{PageSize: p.PageSize, MerchantID: mid, Filters: []qualpay.Filter{qualpay.Between("batch_date", from, to)}})
	if err != nil {
		return fmt.Errorf("qualpay pull settlement: %w", err)
	}
	items, err := ItemiseQualpayDeposit(txns, sets, cur)
	if err != nil {
		return fmt.Errorf("qualpay itemise %s: %w", id, err)
	}
	status, err := p.Payouts.SetItems(ctx, po, items)
	if err != nil {
		return err
	}
	if status != payouts.ItemisationComplete {
		p.Log.WarnContext(ctx, "qualpay deposit itemisation incomplete", "payout_id", id, "amount", amount, "items_net", payouts.SumNet(items))
	}
	return nil
}

func dateOnly(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// ItemiseQualpayDeposit builds a deposit's items: one per settled transaction
// (gross amt_tran, net amt_funded, fee the difference; negative amounts are
// refunds), then one fee line per settled batch whose statement net (amt_net)
// is below what its transactions funded (the discount taken at settlement).
// Every amount is converted from its decimal text exactly; no floats.
func ItemiseQualpayDeposit(txns []qualpay.SettledTransaction, sets []qualpay.SettlementRecord, cur string) ([]payouts.Item, error) {
	sort.SliceStable(txns, func(a, b int) bool {
		if txns[a].BatchDate != txns[b].BatchDate {
			return txns[a].BatchDate < txns[b].BatchDate
		}
		return txns[a].RecID < txns[b].RecID
	})
	var items []payouts.Item
	fundedByBatch := map[string]int64{}
	for _, t := range txns {
		gross, err := t.AmtTran.Minor(cur)
		if err != nil {
			return nil, fmt.Errorf("transaction %s amt_tran: %w", t.PgID, err)
		}
		net := gross
		if !t.AmtFunded.IsZero() {
			if net, err = t.AmtFunded.Minor(cur); err != nil {
				return nil, fmt.Errorf("transaction %s amt_funded: %w", t.PgID, err)
			}
		}
		typ := payouts.ItemCharge
		if gross < 0 {
			typ = payouts.ItemRefund
		}
		var created int64
		if td, err := time.Parse("2006-01-02", dateOnly(t.TranDate)); err == nil {
			created = td.Unix()
		}
		items = append(items, payouts.Item{
			SourceID: firstNonEmpty(t.PgID, strconv.FormatInt(t.RecID, 10)), Type: typ, Amount: gross, Fee: gross - net, Net: net,
			Currency: cur, PaymentID: t.PgID, Description: strings.TrimSpace(t.MerchRefNum), Created: created,
		})
		fundedByBatch[dateOnly(t.BatchDate)] += net
	}
	for _, s := range sets {
		bd := dateOnly(s.BatchDate)
		funded, ok := fundedByBatch[bd]
		if !ok || s.AmtNet.IsZero() {
			continue
		}
		net, err := s.AmtNet.Minor(cur)
		if err != nil {
			return nil, fmt.Errorf("settlement %s amt_net: %w", bd, err)
		}
		if diff := net - funded; diff != 0 {
			typ := payouts.ItemFee
			if diff > 0 {
				typ = payouts.ItemAdjustment
			}
			items = append(items, payouts.Item{
				SourceID: "settlement_" + bd + "_" + strconv.FormatInt(s.ReferenceNumber, 10), Type: typ, Amount: 0, Fee: -diff, Net: diff,
				Currency: cur, Description: "settlement " + bd,
			})
		}
		delete(fundedByBatch, bd) // one statement line per batch date
	}
	return items, nil
}
