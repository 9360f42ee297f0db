package reconsvc

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/csvsafe"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// Filter narrows a report. Dates are inclusive YYYY-MM-DD.
type Filter struct {
	From, To string
	Status   string
	Reason   string
	MatchID  string // journal entries of one match
}

func (f Filter) validate(statuses ...string) error {
	errs := map[string]string{}
	for name, v := range map[string]string{"from": f.From, "to": f.To} {
		if v != "" {
			if _, err := recon.ParseDate(v); err != nil {
				errs[name] = "must be a date YYYY-MM-DD"
			}
		}
	}
	if f.From != "" && f.To != "" && f.From > f.To {
		errs["to"] = "must not be before from"
	}
	if f.Status != "" && len(statuses) > 0 {
		ok := false
		for _, s := range statuses {
			ok = ok || s == f.Status
		}
		if !ok {
			errs["status"] = fmt.Sprintf("must be one of %v", statuses)
		}
	}
	if len(errs) > 0 {
		return apperr.FieldErrors(errs)
	}
	return nil
}

// dateFilter adds a date range on attribute name to a query.
func dateFilter(q *store.Query, attr string, f Filter) {
	if q.Values == nil {
		q.Values, q.Names = map[string]any{}, map[string]string{}
	}
	var parts []string
	q.Names["#d"] = attr
	if f.From != "" {
		parts = append(parts, "#d >= :from")
		q.Values[":from"] = f.From
	}
	if f.To != "" {
		parts = append(parts, "#d <= :to")
		q.Values[":to"] = f.To
	}
	if len(parts) == 0 {
		delete(q.Names, "#d")
	}
	addFilter(q, parts...)
}

func addFilter(q *store.Query, parts ...string) {
	for _, p := range parts {
		if q.Filter != "" {
			q.Filter += " AND "
		}
		q.Filter += p
	}
}

// Matches lists matches, newest first.
func (s *Service) Matches(ctx context.Context, pid, cid string, f Filter, limit int32, cursor string) ([]Match, string, error) {
	if err := f.validate(MatchActive, MatchReversed); err != nil {
		return nil, "", err
	}
	q := store.Query{PK: store.CompanyPK(pid, cid), SKPrefix: skMatch, Desc: true, Limit: limit, Cursor: cursor}
	dateFilter(&q, "date", f)
	if f.Status != "" {
		q.Names["#st"] = "status"
		q.Values[":st"] = f.Status
		addFilter(&q, "#st = :st")
	}
	var out []Match
	next, err := s.Store.QueryPage(ctx, q, &out)
	if out == nil {
		out = []Match{}
	}
	return out, next, err
}

// GetMatch returns one match (404 for another company's).
func (s *Service) GetMatch(ctx context.Context, pid, cid, id string) (Match, error) {
	var m Match
	if err := s.Store.Get(ctx, store.CompanyPK(pid, cid), skMatch+id, &m); err != nil {
		if err == store.ErrNotFound {
			return Match{}, apperr.New(apperr.NotFound, "match not found")
		}
		return Match{}, err
	}
	return m, nil
}

// JournalEntry is one entry, or one part of a long entry, as listed: its
// match and position give its ID; an entry of more than journalChunkLines
// lines comes in Parts parts sharing the ID, each with its share of the lines.
type JournalEntry struct {
	ID      string `json:"id"`
	MatchID string `json:"match_id"`
	Part    int    `json:"part"`  // 1-based
	Parts   int    `json:"parts"` // how many parts the entry has
	recon.Entry
}

// MaxJournalPage bounds a page of journal entry parts: 25 parts of at most
// journalChunkLines lines keep the largest possible page ≈ 3.5 MB of JSON
// (every text field at its bound, see docs/sizes.md), under Lambda's 6 MB.
const MaxJournalPage = 25

// JournalEntries lists journal entries part by part in ledger order (oldest
// match first; within a match, entries in order, reversals after the
// originals), optionally of one match, filtered by entry date. Each part is
// checked against its match header, so parts of an unfinished write never show.
func (s *Service) JournalEntries(ctx context.Context, pid, cid string, f Filter, limit int32, cursor string) ([]JournalEntry, string, error) {
	if err := f.validate(); err != nil {
		return nil, "", err
	}
	pk := store.CompanyPK(pid, cid)
	prefix := skJournal
	if f.MatchID != "" {
		if len(f.MatchID) > 128 || strings.Contains(f.MatchID, "#") {
			return nil, "", apperr.FieldErrors(map[string]string{"match_id": "unknown match"})
		}
		prefix += f.MatchID + "#"
	}
	var chunks []journalChunk
	next, err := s.Store.QueryPage(ctx, store.Query{PK: pk, SKPrefix: prefix, Limit: min(limit, MaxJournalPage), Cursor: cursor}, &chunks)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, 0, len(chunks))
	for _, c := range chunks {
		ids = append(ids, c.MatchID)
	}
	heads, err := s.headers(ctx, pk, ids)
	if err != nil {
		return nil, "", err
	}
	out := []JournalEntry{}
	for _, c := range chunks {
		if h, ok := heads[c.MatchID]; !ok || c.Index >= h.EntryCount {
			continue // not (yet) part of a match
		}
		d := c.Entry.Date.String()
		if (f.From != "" && d < f.From) || (f.To != "" && d > f.To) {
			continue
		}
		out = append(out, JournalEntry{ID: entryID(c.MatchID, c.Index), MatchID: c.MatchID, Part: c.Part + 1, Parts: c.Parts, Entry: c.Entry})
	}
	return out, next, nil
}

// WriteJournalCSV writes entries one line per posting, amounts as decimals.
// Every cell is neutralised against formula injection (csvsafe): IDs too are
// outside text.
func WriteJournalCSV(w io.Writer, entries []JournalEntry, header bool) error {
	cw := csvsafe.NewWriter(w)
	if header {
		if err := cw.Write([]string{"entry_id", "match_id", "date", "kind", "reverses", "memo", "currency", "account", "debit", "credit",
			"payout_id", "bank_transaction_id", "invoice_id", "payment_id", "source_id"}); err != nil {
			return err
		}
	}
	dec := func(v int64, cur string) string {
		if v == 0 {
			return ""
		}
		return money.Format(v, cur)
	}
	for _, e := range entries {
		for _, l := range e.Lines {
			if err := cw.Write([]string{e.ID, e.MatchID, e.Date.String(), e.Kind, e.Reverses, e.Memo, e.Currency, l.Account,
				dec(l.Debit, e.Currency), dec(l.Credit, e.Currency), l.PayoutID, l.BankTransactionID, l.InvoiceID, l.PaymentID, l.SourceID}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// Exceptions lists exceptions: open ones by date (the default), or all / resolved.
func (s *Service) Exceptions(ctx context.Context, pid, cid string, f Filter, limit int32, cursor string) ([]Exception, string, error) {
	if err := f.validate(ExceptionOpen, ExceptionResolved, "all"); err != nil {
		return nil, "", err
	}
	pk := store.CompanyPK(pid, cid)
	var q store.Query
	if f.Status == "" || f.Status == ExceptionOpen {
		q = store.Query{PK: openExcPK(pk), Index: store.GSI1, SKFrom: first(f.From, "0"), SKTo: first(f.To, "9999-12-31") + "~", Limit: limit, Cursor: cursor}
	} else {
		q = store.Query{PK: pk, SKPrefix: skExc, Limit: limit, Cursor: cursor}
		dateFilter(&q, "date", f)
		if f.Status != "all" {
			q.Names["#st"] = "status"
			q.Values[":st"] = f.Status
			addFilter(&q, "#st = :st")
		}
	}
	if f.Reason != "" {
		if q.Values == nil {
			q.Values, q.Names = map[string]any{}, map[string]string{}
		}
		q.Names["#r"] = "reason"
		q.Values[":r"] = f.Reason
		addFilter(&q, "#r = :r")
	}
	var out []Exception
	next, err := s.Store.QueryPage(ctx, q, &out)
	if out == nil {
		out = []Exception{}
	}
	return out, next, err
}

// BankTransactions lists bank lines: unmatched ones by date, others by ID.
func (s *Service) BankTransactions(ctx context.Context, pid, cid string, f Filter, limit int32, cursor string) ([]BankTransaction, string, error) {
	if err := f.validate("pending", "unmatched", "matched"); err != nil {
		return nil, "", err
	}
	pk := store.CompanyPK(pid, cid)
	var items []lineItem
	var next string
	var err error
	if f.Status == "unmatched" {
		items, next, err = s.openLines(ctx, pk, f, limit, cursor)
	} else {
		q := store.Query{PK: pk, SKPrefix: skLine, Limit: limit, Cursor: cursor}
		dateFilter(&q, "date", f)
		switch f.Status {
		case "pending":
			q.Values[":t"] = true
			addFilter(&q, "pending = :t")
		case "matched":
			addFilter(&q, "attribute_exists(match_id)")
		}
		next, err = s.Store.QueryPage(ctx, q, &items)
	}
	out := make([]BankTransaction, 0, len(items))
	for _, it := range items {
		out = append(out, it.api())
	}
	return out, next, err
}

// State is what GET /reconcile shows: the last run and whether one is due.
type State struct {
	LastRunAt   string   `json:"last_run_at,omitempty"`
	DirtyFrom   string   `json:"dirty_from,omitempty"`
	Due         bool     `json:"due"`
	LastSummary *Summary `json:"last_summary,omitempty"`
}

// openLines lists the open lines of both directions by date: the two index
// partitions are read from the cursor's position and merged. The cursor is
// the last listed line's index sort key (a position inside the caller's own
// partitions, so it cannot reach another company's data).
func (s *Service) openLines(ctx context.Context, pk string, f Filter, limit int32, cursor string) ([]lineItem, string, error) {
	lo, hi := first(f.From, "0"), first(f.To, "9999-12-31")+"~"
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(b) == 0 || len(b) > 512 || string(b) < lo || string(b) > hi || !utf8.Valid(b) {
			return nil, "", apperr.New(apperr.Invalid, "cursor is not valid for this list")
		}
		after, lo = string(b), string(b)
	}
	var all []lineItem
	for _, gpk := range []string{openLinesPK(pk), openOutLinesPK(pk)} {
		var page []lineItem
		// Two more than a page: the cursor's own line may come back, and one
		// more says whether a next page exists.
		if _, err := s.Store.QueryPage(ctx, store.Query{PK: gpk, Index: store.GSI1, SKFrom: lo, SKTo: hi, Limit: limit + 2}, &page); err != nil {
			return nil, "", err
		}
		for _, it := range page {
			if it.GSI1SK != after {
				all = append(all, it)
			}
		}
	}
	slices.SortFunc(all, func(a, b lineItem) int { return strings.Compare(a.GSI1SK, b.GSI1SK) })
	if len(all) <= int(limit) {
		return all, "", nil
	}
	all = all[:limit]
	return all, base64.RawURLEncoding.EncodeToString([]byte(all[limit-1].GSI1SK)), nil
}

// MaxPayoutMatches bounds one PayoutMatches call (a page of payouts).
const MaxPayoutMatches = 100

// PayoutMatches answers the active match of each of the given payouts (absent
// when none) from the reconciliation view of each payout: one BatchGetItem,
// whatever the company's history, so a page of payouts shows its state without
// reading every match.
func (s *Service) PayoutMatches(ctx context.Context, pid, cid string, payoutIDs []string) (map[string]string, error) {
	if len(payoutIDs) > MaxPayoutMatches {
		return nil, fmt.Errorf("payout matches: %d payouts, at most %d", len(payoutIDs), MaxPayoutMatches)
	}
	out := make(map[string]string, len(payoutIDs))
	if len(payoutIDs) == 0 {
		return out, nil
	}
	pk := store.CompanyPK(pid, cid)
	seen := make(map[string]bool, len(payoutIDs))
	keys := make([]map[string]types.AttributeValue, 0, len(payoutIDs))
	for _, id := range payoutIDs {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, store.Key(pk, skPayout+id))
		}
	}
	err := store.BatchGetAs(ctx, s.Store, keys, func(v payoutView) {
		if v.MatchID != "" {
			out[v.ID] = v.MatchID
		}
	})
	return out, err
}
