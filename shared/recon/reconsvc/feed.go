package reconsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// Payouts is what reconciliation reads of the payout store (issue 5's payouts.Store).
type Payouts interface {
	Get(ctx context.Context, partnerID, companyID, id string) (payouts.Payout, error)
	Items(ctx context.Context, partnerID, companyID, payoutID string) ([]payouts.Item, error)
	ListPaid(ctx context.Context, partnerID, companyID string, updatedSince time.Time) ([]payouts.Payout, error)
}

// Invoices is told which invoice payments are in matched payouts (matched) or
// no longer are (a match reversed); it moves the invoices to reconciled and back.
type Invoices interface {
	PaymentsMatched(ctx context.Context, partnerID, companyID string, refs []invoices.PaymentRef, matched bool) error
}

// Service is reconciliation over the store.
type Service struct {
	Store    *store.Store
	Payouts  Payouts
	Invoices Invoices
	IDs      interface{ ID(prefix string) string }
	Now      func() time.Time
	Log      *slog.Logger
	// Config returns the matcher configuration for a run on today (nil: recon defaults).
	Config func(today recon.Date) recon.Config
	// ScanPayouts lists the company's paid payouts changed since the last run
	// (payouts.Store.ListPaid, a filtered read of the company's payouts). Turn it
	// off once payout ingestion calls MarkPayoutChanged: runs then read only the
	// payouts that changed.
	ScanPayouts bool
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) cfg(today recon.Date) recon.Config {
	if s.Config != nil {
		return s.Config(today)
	}
	return recon.DefaultConfig(today)
}

// FeedResult summarises an ingested page.
type FeedResult struct {
	Added      int    `json:"added"`
	Modified   int    `json:"modified"`
	Removed    int    `json:"removed"`
	Unchanged  int    `json:"unchanged"`
	Unmatched  int    `json:"unmatched"` // matches undone because their line changed or went away
	NextCursor string `json:"next_cursor,omitempty"`
}

// Ingest applies one Plaid /transactions/sync page (at most recon.MaxPageLines
// lines and recon.MaxPageAccounts accounts). The page is validated whole first
// (422 naming every bad field; nothing written). Existing lines are read with
// BatchGetItem (100 a call) and lines written with BatchWriteItem (25 a call),
// idempotently, so a page that fails half-way and is posted again ends in the
// same state; cursors go last, so a failed page is re-sent. A 500-line page is
// about 5 + 20 calls, plus one unmatch transaction per matched line it changes.
func (s *Service) Ingest(ctx context.Context, pid, cid string, page recon.SyncPage) (FeedResult, error) {
	ch, err := recon.NormalizePage(page)
	if err != nil {
		var pe *recon.PageError
		if errors.As(err, &pe) {
			return FeedResult{}, apperr.FieldErrors(pe.Fields)
		}
		return FeedResult{}, err
	}
	pk := store.CompanyPK(pid, cid)
	now := s.now()
	var res FeedResult
	minDate := recon.Date(0)
	touch := func(d recon.Date) {
		if !d.IsZero() && (minDate.IsZero() || d < minDate) {
			minDate = d
		}
	}
	ids := make([]string, 0, len(ch.Upserts)+len(ch.Replaced)+len(ch.Removed))
	for _, l := range ch.Upserts {
		ids = append(ids, l.ID)
	}
	ids = append(append(ids, ch.Replaced...), ch.Removed...)
	existing, err := s.getLines(ctx, pk, ids)
	if err != nil {
		return FeedResult{}, err
	}
	writes := make(map[string]types.WriteRequest, len(ids)) // by sort key: one request per key in a batch
	for _, l := range ch.Upserts {
		old, had := existing[l.ID]
		if had && recon.SameLine(old.line(), l) {
			res.Unchanged++
			continue
		}
		it := newLineItem(pid, cid, l, now)
		if had && old.MatchID != "" {
			if sameMoney(old.line(), l) {
				it.MatchID = old.MatchID // a text change keeps its match
				it.setOpen()
			} else if err := s.unmatch(ctx, pid, cid, old.MatchID, "bank transaction "+l.ID+" changed", old.ID, false); err != nil {
				return res, err
			} else {
				res.Unmatched++
			}
		}
		req, err := store.PutRequest(it)
		if err != nil {
			return res, err
		}
		writes[it.SK] = req
		touch(l.Date)
		if had {
			touch(old.line().Date)
			res.Modified++
		} else {
			res.Added++
		}
	}
	for _, id := range append(slices.Clone(ch.Replaced), ch.Removed...) {
		old, had := existing[id]
		if !had {
			continue
		}
		if old.MatchID != "" {
			// The unmatch deletes the line in its own transaction.
			if err := s.unmatch(ctx, pid, cid, old.MatchID, "bank transaction "+id+" removed", id, true); err != nil {
				return res, err
			}
			delete(writes, skLine+id)
			res.Unmatched++
		} else {
			writes[skLine+id] = store.DeleteRequest(pk, skLine+id)
		}
		touch(old.line().Date)
		res.Removed++
	}
	reqs := make([]types.WriteRequest, 0, len(writes))
	for _, r := range writes {
		reqs = append(reqs, r)
	}
	if err := s.Store.BatchWrite(ctx, reqs); err != nil {
		return res, fmt.Errorf("write bank transactions: %w", err)
	}
	if !minDate.IsZero() {
		if err := markDirty(ctx, s.Store, pid, cid, minDate, now); err != nil {
			return res, err
		}
	}
	if err := s.saveAccounts(ctx, pid, cid, ch, now); err != nil {
		return res, err
	}
	res.NextCursor = ch.NextCursor
	return res, nil
}

func sameMoney(a, b recon.BankLine) bool {
	return a.Amount == b.Amount && a.Currency == b.Currency && a.Date == b.Date && a.Pending == b.Pending && a.AccountID == b.AccountID
}

// getLines reads lines by ID (store.BatchGet: 100 keys a call).
func (s *Service) getLines(ctx context.Context, pk string, ids []string) (map[string]lineItem, error) {
	out := make(map[string]lineItem, len(ids))
	slices.Sort(ids)
	ids = slices.Compact(ids)
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, store.Key(pk, skLine+id))
	}
	if err := store.BatchGetAs(ctx, s.Store, keys, func(it lineItem) { out[it.ID] = it }); err != nil {
		return nil, fmt.Errorf("read bank transactions: %w", err)
	}
	return out, nil
}

// saveAccounts stores each account of the page with the page's cursor: Plaid's
// cursor belongs to the Item, so every account the page covers gets it.
func (s *Service) saveAccounts(ctx context.Context, pid, cid string, ch recon.Changes, now time.Time) error {
	seen := map[string]bool{} // accounts are de-duplicated (the page's list, then its lines)
	var accts []accountItem
	for _, a := range ch.Accounts {
		it := accountItem{PartnerID: pid, CompanyID: cid, AccountID: a.AccountID, Name: clip(a.Name, 100), Mask: clip(a.Mask, 8), Cursor: ch.NextCursor, UpdatedAt: now}
		if a.Balances.ISOCurrencyCode != nil {
			if c, err := money.NormalizeCurrency(*a.Balances.ISOCurrencyCode); err == nil {
				it.Currency = c
			}
		}
		seen[a.AccountID] = true
		accts = append(accts, it)
	}
	for _, l := range ch.Upserts {
		if !seen[l.AccountID] {
			seen[l.AccountID] = true
			accts = append(accts, accountItem{PartnerID: pid, CompanyID: cid, AccountID: l.AccountID, Currency: l.Currency, Cursor: ch.NextCursor, UpdatedAt: now})
		}
	}
	pk := store.CompanyPK(pid, cid)
	keys := make([]map[string]types.AttributeValue, 0, len(accts))
	for _, a := range accts {
		keys = append(keys, store.Key(pk, skAccount+a.AccountID))
	}
	olds := make(map[string]accountItem, len(accts))
	if err := store.BatchGetAs(ctx, s.Store, keys, func(a accountItem) { olds[a.AccountID] = a }); err != nil {
		return fmt.Errorf("read bank accounts: %w", err)
	}
	reqs := make([]types.WriteRequest, 0, len(accts))
	for _, a := range accts {
		a.PK, a.SK = pk, skAccount+a.AccountID
		if old, ok := olds[a.AccountID]; ok {
			a.Name, a.Mask = first(a.Name, old.Name), first(a.Mask, old.Mask)
			a.Currency = first(a.Currency, old.Currency)
			if a.Cursor == "" {
				a.Cursor = old.Cursor
			}
		}
		req, err := store.PutRequest(a)
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	if err := s.Store.BatchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("save bank accounts: %w", err)
	}
	return nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
