package plaid

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	plaidgo "github.com/plaid/plaid-go/v20/plaid"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/plaiditems"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/secrets"
)

const (
	// source names Plaid in the exceptions it raises (one per Item).
	source = "plaid"
	// PageSize is Plaid's maximum count for /transactions/sync.
	PageSize = 500
	// MaxPages bounds the pages one job applies (100 pages of 500 = 50,000
	// changes; a 1,000-line update measured 2.7 s on DynamoDB Local, so a job
	// stays well inside the function's 300 s). A longer update continues in a
	// new job from its progress cursor (Item.PendingCursor).
	MaxPages = 100
	// MaxRestarts bounds restarts after TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION
	// in one job; then the job fails and the queue retries it later.
	MaxRestarts = 3
)

// SyncResult is what one sync of an Item did.
type SyncResult struct {
	Pages    int  `json:"pages"`
	Restarts int  `json:"restarts"`
	Added    int  `json:"added"`
	Modified int  `json:"modified"`
	Removed  int  `json:"removed"`
	Skipped  bool `json:"skipped,omitempty"` // the Item is gone or waits for its user
	// Continued: the page budget ran out mid-update; a new job goes on.
	Continued bool `json:"continued,omitempty"`
}

// Handle runs a queued sync job (queue.KindPlaidSync).
func (s *Service) Handle(ctx context.Context, j queue.Job) error {
	if j.Kind != queue.KindPlaidSync {
		return fmt.Errorf("%w: plaid worker got job %q", queue.ErrPermanent, j.Kind)
	}
	_, err := s.Sync(ctx, j.PartnerID, j.CompanyID, j.AccountID)
	return err
}

// Sync pulls the Item's updates with /transactions/sync from its stored
// cursor until has_more is false, applying every page through the feed as it
// arrives. Applying a page is idempotent, and the cursor is stored only once
// the whole update is applied: a crash mid-update re-pulls from the first
// cursor and never skips. On TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION the
// loop restarts from that first cursor, as Plaid documents
// (https://plaid.com/docs/errors/transactions/#transactions_sync_mutation_during_pagination).
// When the feed changed, the company's reconciliation runs after the sync.
func (s *Service) Sync(ctx context.Context, pid, cid, itemID string) (SyncResult, error) {
	it, err := s.Items.Get(ctx, pid, cid, itemID)
	if apperr.Is(err, apperr.NotFound) {
		return SyncResult{Skipped: true}, nil // removed since the job was queued
	}
	if err != nil {
		return SyncResult{}, err
	}
	if it.Status == plaiditems.StatusLoginRequired || it.Status == plaiditems.StatusPermissionRevoked {
		return SyncResult{Skipped: true}, nil
	}
	c, err := s.credentials(ctx, pid)
	if err != nil {
		return SyncResult{}, err
	}
	tok, err := s.Secrets.Get(ctx, s.tokenName(pid, itemID))
	if errors.Is(err, secrets.ErrNotFound) {
		return SyncResult{Skipped: true}, nil
	}
	if err != nil {
		return SyncResult{}, err
	}
	api := s.client(c)
	var res SyncResult
	var cursor string
	var done bool
	from := cmp.Or(it.PendingCursor, it.Cursor) // a long update resumes where its last job stopped
	for {
		cursor, done, err = s.pull(ctx, api, string(tok), it, from, &res)
		if pe, ok := plaidErr(err); ok && pe.ErrorCode == "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION" && res.Restarts < MaxRestarts {
			res.Restarts++
			from = it.Cursor // the update's first cursor, never the progress one
			continue
		}
		break
	}
	if err != nil {
		if pe, ok := plaidErr(err); ok && pe.ErrorType == "ITEM_ERROR" {
			// The Item needs its user (e.g. ITEM_LOGIN_REQUIRED): mark it and
			// stop; retrying cannot help until it is repaired.
			return res, s.markItem(ctx, it, pe.ErrorCode)
		}
		return res, err
	}
	if !done {
		// Progress only: Cursor stays the update's first cursor (a mutation
		// restarts from it); the next job goes on from PendingCursor.
		if _, err := s.Items.Update(ctx, pid, cid, itemID, func(i *plaiditems.Item) { i.PendingCursor = cursor }); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return res, nil
			}
			return res, err
		}
		res.Continued = true
		return res, s.Queue.Enqueue(ctx, plaiditems.SyncJob(it))
	}
	if _, err := s.Items.Update(ctx, pid, cid, itemID, func(i *plaiditems.Item) {
		i.Cursor, i.PendingCursor, i.LastSyncedAt = cursor, "", s.Now().UTC()
	}); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return res, nil // removed during the sync
		}
		return res, err
	}
	s.Log.InfoContext(ctx, "plaid item synced", "partner_id", pid, "company_id", cid, "item_id", itemID,
		"pages", res.Pages, "restarts", res.Restarts, "added", res.Added, "modified", res.Modified, "removed", res.Removed)
	// Always, not only when this pull changed lines: a sync that crashed after
	// applying pages left the company dirty, and the retry that completes it
	// finds those lines unchanged. A run with nothing dirty only reads state.
	if s.Reconcile != nil {
		if err := s.Reconcile(ctx, pid, cid); err != nil {
			// The feed is in and the company is due: the schedule runs it.
			s.Log.ErrorContext(ctx, "reconcile after plaid sync failed", "company_id", cid, "err", err)
		}
	}
	return res, nil
}

// pull applies pages from cursor until has_more is false (done) or the job's
// page budget is spent, and returns the last next_cursor.
func (s *Service) pull(ctx context.Context, api *plaidgo.PlaidApiService, token string, it plaiditems.Item, cursor string, res *SyncResult) (string, bool, error) {
	for page := 0; page < cmp.Or(s.MaxPages, MaxPages); page++ {
		req := plaidgo.NewTransactionsSyncRequest(token)
		req.SetCount(cmp.Or(s.PageSize, PageSize))
		if cursor != "" {
			req.SetCursor(cursor)
		}
		resp, _, err := api.TransactionsSync(ctx).TransactionsSyncRequest(*req).Execute()
		if err != nil {
			return "", false, err
		}
		res.Pages++
		p, err := toPage(resp)
		if err != nil {
			return "", false, err
		}
		fr, err := s.Feed.Ingest(ctx, it.PartnerID, it.CompanyID, p)
		if err != nil {
			return "", false, fmt.Errorf("apply plaid page %d of item %s: %w", page+1, it.ItemID, err)
		}
		res.Added, res.Modified, res.Removed = res.Added+fr.Added, res.Modified+fr.Modified, res.Removed+fr.Removed
		if !resp.GetHasMore() {
			return resp.GetNextCursor(), true, nil
		}
		cursor = resp.GetNextCursor()
	}
	return cursor, false, nil
}

// toPage re-reads plaid-go's response as the feed's page type (the same JSON
// shape the push route takes). plaid-go decodes amounts into float64; Go
// encodes a float64 with the shortest decimal that reads back to it, so a
// two-decimal amount comes back as the same decimal text, which the feed
// converts to minor units exactly.
func toPage(resp plaidgo.TransactionsSyncResponse) (recon.SyncPage, error) {
	raw, err := json.Marshal(resp)
	if err != nil {
		return recon.SyncPage{}, err
	}
	var p recon.SyncPage
	if err := json.Unmarshal(raw, &p); err != nil {
		return recon.SyncPage{}, fmt.Errorf("plaid sync page: %w", err)
	}
	return p, nil
}

// statusFor maps a Plaid Item error code to the Item's status.
func statusFor(code string) string {
	switch code {
	case "ITEM_LOGIN_REQUIRED":
		return plaiditems.StatusLoginRequired
	case "PENDING_EXPIRATION":
		return plaiditems.StatusPendingExpiration
	case "USER_PERMISSION_REVOKED", "ACCESS_NOT_GRANTED":
		return plaiditems.StatusPermissionRevoked
	}
	return plaiditems.StatusError
}

var messages = map[string]string{
	plaiditems.StatusLoginRequired:     "the bank connection needs the user to log in again (open Plaid Link in update mode with this item_id)",
	plaiditems.StatusPendingExpiration: "the bank connection's consent expires soon; ask the user to re-authenticate in Plaid Link update mode",
	plaiditems.StatusPermissionRevoked: "the user revoked access to this bank connection; link it again or remove it",
	plaiditems.StatusError:             "the bank connection reported an error; check the item and re-link if it persists",
}

// markItem records an Item problem and raises one exception per Item the
// partner can act on (raising again updates it; a repair resolves it).
func (s *Service) markItem(ctx context.Context, it plaiditems.Item, code string) error {
	st := statusFor(code)
	if _, err := s.Items.Update(ctx, it.PartnerID, it.CompanyID, it.ItemID, func(i *plaiditems.Item) { i.Status, i.ErrorCode = st, code }); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil
		}
		return err
	}
	msg := fmt.Sprintf("Plaid item %s (%s): %s: %s", it.ItemID, it.InstitutionID, code, messages[st])
	return exceptions.Raise(ctx, s.Items.Store, s.events(), it.PartnerID, it.CompanyID, exceptions.Raised{
		Key: exceptionKey(it.ItemID), Reason: "bank_connection_" + st, Message: msg, Source: source, OccurredAt: s.Now()})
}

// exceptionKey is the one exception per Item (raising again rewrites it).
func exceptionKey(itemID string) string { return source + ":" + itemID }

// repaired clears an Item's problem (LOGIN_REPAIRED, or a later successful update).
func (s *Service) repaired(ctx context.Context, it plaiditems.Item) error {
	if _, err := s.Items.Update(ctx, it.PartnerID, it.CompanyID, it.ItemID, func(i *plaiditems.Item) { i.Status, i.ErrorCode = plaiditems.StatusActive, "" }); err != nil {
		return err
	}
	return exceptions.Resolve(ctx, s.Items.Store, s.events(), it.PartnerID, it.CompanyID, exceptionKey(it.ItemID))
}
