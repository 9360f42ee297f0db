package vault

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/store"
)

// Account Updater. Qualpay harvests the cards of a merchant's vault (monthly,
// or on request), asks the card networks for changes and updates the cards on
// file; it then reports each card in /reporting/aus/detail and announces a
// finished request with the account_updater_request_completed webhook, which
// says only that a harvest is complete
// (https://help.qualpay.com/help/account-updater-overview; spec:
// createAusRequest, browseAusRequests). ApplyAccountUpdates reads the results
// not yet applied and brings each affected customer's cards and our summary in
// line with them. It runs on that webhook (through the work queue) and on the
// schedule, and is idempotent: a result applied twice changes nothing more.

const ausCursorSK = "VAULTAUS#cursor"

// ausCursor is the highest Account Updater request fully applied for the
// company's merchant (all of its cards answered).
type ausCursor struct {
	store.Keys
	PartnerID  string    `dynamodbav:"partner_id"`
	CompanyID  string    `dynamodbav:"company_id"`
	MerchantID int64     `dynamodbav:"merchant_id"`
	RequestID  int64     `dynamodbav:"request_id"`
	UpdatedAt  time.Time `dynamodbav:"updated_at"`
}

// UpdaterResult says what one Account Updater run applied.
type UpdaterResult struct {
	Requests         int `json:"requests"`          // requests read (newer than the last fully applied one)
	CardsChanged     int `json:"cards_changed"`     // results with a new number or expiry, or a hold
	CustomersUpdated int `json:"customers_updated"` // customers whose cards and summary were brought up to date
	UnknownCards     int `json:"unknown_cards"`     // cards not stored through payrecon for this company
	Pending          int `json:"pending"`           // cards not yet answered by the networks
}

// maxUpdaterRows bounds one run: a run applies whole requests only, as many
// as fit (the rest wait for the next run; the cursor only moves past fully
// applied requests). A single request larger than this is applied whole, as
// there is no resume point inside a request. A variable for tests.
var maxUpdaterRows = 20000

// wholeRequests cuts rows (ordered by request_id) to at most limit rows at a
// request boundary, keeping at least the whole first request.
func wholeRequests(rows []qualpay.AusDetail, limit int) []qualpay.AusDetail {
	if limit <= 0 || len(rows) <= limit {
		return rows
	}
	cut, last := limit, rows[limit-1].RequestID
	if rows[cut].RequestID != last {
		return rows[:cut]
	}
	for cut > 0 && rows[cut-1].RequestID == last {
		cut--
	}
	if cut == 0 { // the first request alone is over the limit: all of it
		for cut = limit; cut < len(rows) && rows[cut].RequestID == last; cut++ {
		}
	}
	return rows[:cut]
}

// ApplyAccountUpdates applies the company's unapplied Account Updater results.
func (s *Service) ApplyAccountUpdates(ctx context.Context, pid, cid string) (UpdaterResult, error) {
	sc, err := s.resolve(ctx, pid, cid)
	if err != nil {
		return UpdaterResult{}, err
	}
	return s.applyAccountUpdates(ctx, sc)
}

func (s *Service) applyAccountUpdates(ctx context.Context, sc scope) (UpdaterResult, error) {
	cur := ausCursor{PartnerID: sc.pid, CompanyID: sc.cid, MerchantID: sc.merchant}
	cur.PK, cur.SK = store.CompanyPK(sc.pid, sc.cid), ausCursorSK
	var stored ausCursor
	switch err := s.Store.Get(ctx, cur.PK, cur.SK, &stored); {
	case err == nil && stored.MerchantID == sc.merchant:
		cur.RequestID = stored.RequestID
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return UpdaterResult{}, fmt.Errorf("read account updater cursor: %w", err)
	}
	rows, err := sc.qp.AusDetailsAll(ctx, qualpay.ReportQuery{MerchantID: sc.merchant,
		Filters: []qualpay.Filter{{Field: "request_id", Op: qualpay.OpGT, Values: []string{strconv.FormatInt(cur.RequestID, 10)}}},
		OrderOn: "request_id", OrderBy: "asc"})
	if err != nil {
		return UpdaterResult{}, err
	}
	// Cut at a request boundary: cutting inside a request would move the
	// cursor past the results of it never read (they would never be applied).
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].RequestID < rows[j].RequestID })
	rows = wholeRequests(rows, maxUpdaterRows)
	var res UpdaterResult
	requests := map[int64]bool{}
	pendingReq := map[int64]bool{}
	byCustomer := map[string][]qualpay.AusDetail{}
	for _, d := range rows {
		requests[d.RequestID] = true
		if d.ResponseDate == "" {
			res.Pending++
			pendingReq[d.RequestID] = true
			continue
		}
		if !d.Changed() && d.ReasonCode != qualpay.AusAccountClosed && d.ReasonCode != qualpay.AusContactCardholder {
			continue
		}
		res.CardsChanged++
		customerID, err := s.cardCustomer(ctx, sc, d.CardID)
		if err != nil {
			return res, err
		}
		if customerID == "" {
			res.UnknownCards++
			continue
		}
		byCustomer[customerID] = append(byCustomer[customerID], d)
	}
	res.Requests = len(requests)
	ids := make([]string, 0, len(byCustomer))
	for id := range byCustomer {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		applied, err := s.applyToCustomer(ctx, sc, id, byCustomer[id])
		if err != nil {
			return res, fmt.Errorf("account updater, customer %s: %w", id, err)
		}
		if applied {
			res.CustomersUpdated++
		}
	}
	// Move the cursor past every request answered in full; a request with
	// pending cards is read again next time (re-applying is harmless).
	next := cur.RequestID
	for id := range requests {
		if !pendingReq[id] && id > next && (len(pendingReq) == 0 || id < minKey(pendingReq)) {
			next = id
		}
	}
	// One write per run: the cursor, and the next scheduled run (tomorrow).
	cur.RequestID, cur.UpdatedAt = next, s.Now().UTC()
	cur.schedule(s.Now().AddDate(0, 0, 1))
	if err := s.Store.Put(ctx, cur); err != nil {
		return res, fmt.Errorf("store account updater cursor: %w", err)
	}
	s.Log.InfoContext(ctx, "account updater applied", "company_id", sc.cid, "requests", res.Requests,
		"cards_changed", res.CardsChanged, "customers_updated", res.CustomersUpdated, "unknown_cards", res.UnknownCards, "pending", res.Pending)
	return res, nil
}

// The schedule. Qualpay's webhook is the prompt way in; the schedule is the
// safety net for a lost or unconfigured webhook. Every company with a vault
// customer has a cursor item; its gsi1 key (a few shards, by date) lists it as
// due, so the daily pass reads only due companies, never the whole table.
const ausDueShards = 8

func ausDuePK(pid, cid string) string {
	h := fnv.New32a()
	h.Write([]byte(pid + "#" + cid))
	return "VAULTAUSDUE#" + strconv.Itoa(int(h.Sum32()%ausDueShards))
}

// schedule lists the cursor's company as due on day.
func (c *ausCursor) schedule(day time.Time) {
	c.GSI1PK = ausDuePK(c.PartnerID, c.CompanyID)
	c.GSI1SK = day.UTC().Format(time.DateOnly) + "#" + c.PartnerID + "#" + c.CompanyID
}

// scheduleUpdater makes sure the company is on the schedule once it has a
// vault customer (the first create writes the cursor; later ones find it).
func (s *Service) scheduleUpdater(ctx context.Context, sc scope) {
	cur := ausCursor{PartnerID: sc.pid, CompanyID: sc.cid, MerchantID: sc.merchant, UpdatedAt: s.Now().UTC()}
	cur.PK, cur.SK = store.CompanyPK(sc.pid, sc.cid), ausCursorSK
	cur.schedule(s.Now().AddDate(0, 0, 1))
	if err := s.Store.PutNew(ctx, cur); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		s.Log.WarnContext(ctx, "account updater schedule not written", "company_id", sc.cid, "err", err)
	}
}

// DueCompany is a company whose Account Updater results are due to be read.
type DueCompany struct {
	PartnerID, CompanyID string
	MerchantID           int64
}

// maxDue bounds one scheduled pass; the rest stay due for the next one.
const maxDue = 10000

// DueForAccountUpdater lists the companies due on or before now's date.
func (s *Service) DueForAccountUpdater(ctx context.Context, now time.Time) ([]DueCompany, error) {
	today := now.UTC().Format(time.DateOnly)
	var out []DueCompany
	for shard := range ausDueShards {
		q := store.Query{PK: "VAULTAUSDUE#" + strconv.Itoa(shard), Index: store.GSI1, SKFrom: "0", SKTo: today + "#~", Limit: 500}
		for len(out) < maxDue {
			var page []ausCursor
			next, err := s.Store.QueryPage(ctx, q, &page)
			if err != nil {
				return nil, fmt.Errorf("read account updater schedule: %w", err)
			}
			for _, c := range page {
				out = append(out, DueCompany{PartnerID: c.PartnerID, CompanyID: c.CompanyID, MerchantID: c.MerchantID})
			}
			if next == "" {
				break
			}
			q.Cursor = next
		}
	}
	return out, nil
}

func minKey(m map[int64]bool) int64 {
	first := true
	var lo int64
	for k := range m {
		if first || k < lo {
			lo, first = k, false
		}
	}
	return lo
}

// applyToCustomer brings one customer's cards in line with its results:
// Qualpay has normally updated the card on file already; an expiry it has not
// is sent as a card update. A new number is Qualpay's alone to set (we never
// hold card numbers). Then the summary is refreshed from the live record and
// each card's last Account Updater reason recorded. False when the customer is
// no longer ours (deleted, or the company linked another merchant).
func (s *Service) applyToCustomer(ctx context.Context, sc scope, customerID string, results []qualpay.AusDetail) (bool, error) {
	l, err := s.getLink(ctx, sc, customerID)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c, err := sc.qp.GetCustomer(ctx, sc.merchant, customerID)
	if err != nil {
		return false, err
	}
	reasons := map[string]string{}
	for _, d := range results {
		reasons[d.CardID] = d.ReasonCode
		if d.ExpDateNew == "" {
			continue
		}
		for _, b := range c.BillingCards {
			if b.CardID == d.CardID && b.ExpDate != d.ExpDateNew {
				exp := d.ExpDateNew
				if c, err = sc.qp.UpdateCard(ctx, sc.merchant, customerID, CardInput{CardID: b.CardID, ExpDate: &exp}.qualpay(b.BillingDetails)); err != nil {
					return false, err
				}
			}
		}
	}
	for i, cs := range l.Cards {
		if r, ok := reasons[cs.CardID]; ok {
			l.Cards[i].AccountUpdater = r
		}
	}
	s.refresh(ctx, l, c)
	return true, nil
}

// UpdaterPage is one page of an Account Updater report.
type UpdaterPage[T any] struct {
	Data       []T `json:"data"`
	Page       int `json:"page"`
	TotalPages int `json:"total_pages"`
}

// UpdaterSummary is one Account Updater request of the merchant.
type UpdaterSummary struct {
	RequestID   int64  `json:"request_id"`
	Status      string `json:"status"`
	RequestDate string `json:"request_date,omitempty"`
	Cards       int    `json:"cards"`
	Answered    int    `json:"answered"`
	Updated     int    `json:"updated"`
}

// UpdaterDetail is one card's Account Updater result (numbers masked).
type UpdaterDetail struct {
	RequestID       int64  `json:"request_id"`
	CardID          string `json:"card_id"`
	CustomerID      string `json:"customer_id,omitempty"` // when the card was stored through payrecon for this company
	MaskedNumber    string `json:"masked_number,omitempty"`
	ExpDate         string `json:"exp_date,omitempty"`
	NewMaskedNumber string `json:"new_masked_number,omitempty"`
	NewExpDate      string `json:"new_exp_date,omitempty"`
	ReasonCode      string `json:"reason_code,omitempty"`
	RequestDate     string `json:"request_date,omitempty"`
	ResponseDate    string `json:"response_date,omitempty"`
	Billable        bool   `json:"billable"`
}

// UpdaterSummaryReport is a page of the merchant's Account Updater requests.
func (s *Service) UpdaterSummaryReport(ctx context.Context, sc scope, page, count int) (UpdaterPage[UpdaterSummary], error) {
	rows, pages, err := sc.qp.AusSummaryPage(ctx, sc.merchant, page, count)
	if err != nil {
		return UpdaterPage[UpdaterSummary]{}, err
	}
	out := UpdaterPage[UpdaterSummary]{Data: make([]UpdaterSummary, 0, len(rows)), Page: page, TotalPages: pages}
	for _, r := range rows {
		out.Data = append(out.Data, UpdaterSummary{RequestID: r.RequestID, Status: r.Status, RequestDate: r.RequestDate,
			Cards: r.CntRequest, Answered: r.CntResponse, Updated: r.CntUpdate})
	}
	return out, nil
}

// UpdaterDetailReport is a page of the merchant's Account Updater card results.
func (s *Service) UpdaterDetailReport(ctx context.Context, sc scope, page, count int) (UpdaterPage[UpdaterDetail], error) {
	rows, pages, err := sc.qp.AusDetailPage(ctx, sc.merchant, page, count)
	if err != nil {
		return UpdaterPage[UpdaterDetail]{}, err
	}
	out := UpdaterPage[UpdaterDetail]{Data: make([]UpdaterDetail, 0, len(rows)), Page: page, TotalPages: pages}
	for _, r := range rows {
		cust, err := s.cardCustomer(ctx, sc, r.CardID)
		if err != nil {
			return UpdaterPage[UpdaterDetail]{}, err
		}
		out.Data = append(out.Data, UpdaterDetail{RequestID: r.RequestID, CardID: r.CardID, CustomerID: cust,
			MaskedNumber: r.CardNumber, ExpDate: r.ExpDate, NewMaskedNumber: r.CardNumberNew, NewExpDate: r.ExpDateNew,
			ReasonCode: r.ReasonCode, RequestDate: r.RequestDate, ResponseDate: r.ResponseDate, Billable: r.Billable})
	}
	return out, nil
}

// AccountUpdaterCompleted is the work queue's entry (webhooks.AccountUpdater):
// Qualpay said a harvest is complete for the company's merchant.
// A company that no longer has a merchant or credentials can never apply
// them: that is logged and the job ends, rather than retried until it
// dead-letters.
func (s *Service) AccountUpdaterCompleted(ctx context.Context, pid, cid string) error {
	_, err := s.ApplyAccountUpdates(ctx, pid, cid)
	switch apperr.CodeOf(err) {
	case apperr.Conflict, apperr.Unprocessable, apperr.NotFound:
		s.Log.WarnContext(ctx, "account updater results not applied", "company_id", cid, "err", err)
		return nil
	}
	return err
}
