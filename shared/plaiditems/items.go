// Package plaiditems keeps the linked Plaid Items (one record per Item: its
// company, institution, accounts, status and /transactions/sync cursor) and
// turns stale ones into sync jobs. It does not import the Plaid client, so the
// reconcile schedule can queue syncs without linking it.
package plaiditems

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/store"
)

// Item statuses. Every status but Active is one the partner acts on (the
// user re-links through Link update mode, or removes the Item).
const (
	StatusActive            = "active"
	StatusLoginRequired     = "login_required"
	StatusPendingExpiration = "pending_expiration"
	StatusPermissionRevoked = "permission_revoked"
	StatusError             = "error"
)

const (
	skItem = "PLAIDITEM#"
	shards = 4
	// MaxAccounts bounds the accounts kept per Item (an Item is one login at
	// one institution; real ones hold a handful).
	MaxAccounts = 50
)

// Account is one account of an Item (no balances, no numbers beyond the mask).
type Account struct {
	ID      string `dynamodbav:"id" json:"account_id"`
	Name    string `dynamodbav:"name" json:"name"`
	Mask    string `dynamodbav:"mask,omitempty" json:"mask,omitempty"`
	Type    string `dynamodbav:"type,omitempty" json:"type,omitempty"`
	Subtype string `dynamodbav:"subtype,omitempty" json:"subtype,omitempty"`
}

// Item is one linked Plaid Item. Its access_token is never here: it lives in
// Secrets Manager (TokenSecret names it).
type Item struct {
	store.Keys    `json:"-"`
	PartnerID     string    `dynamodbav:"partner_id" json:"-"`
	CompanyID     string    `dynamodbav:"company_id" json:"company_id"`
	ItemID        string    `dynamodbav:"item_id" json:"item_id"`
	InstitutionID string    `dynamodbav:"institution_id,omitempty" json:"institution_id,omitempty"`
	Accounts      []Account `dynamodbav:"accounts,omitempty" json:"accounts"`
	Status        string    `dynamodbav:"status" json:"status"`
	ErrorCode     string    `dynamodbav:"error_code,omitempty" json:"error_code,omitempty"`
	// Cursor is the next_cursor of the last update applied whole (has_more
	// false); "" before the first sync.
	Cursor string `dynamodbav:"cursor,omitempty" json:"-"`
	// PendingCursor is progress inside an update longer than one job; a
	// mutation during pagination restarts from Cursor, not from here.
	PendingCursor string    `dynamodbav:"pending_cursor,omitempty" json:"-"`
	LastSyncedAt  time.Time `dynamodbav:"last_synced_at,omitempty" json:"last_synced_at,omitempty"`
	CreatedAt     time.Time `dynamodbav:"created_at" json:"created_at"`
}

// Store keeps Item records: in the company's partition (listing) and indexed
// under a few fixed GSI partitions by item_id (webhook routing, schedule).
type Store struct {
	Store *store.Store
	Now   func() time.Time
}

func shardPK(itemID string) string {
	h := fnv.New32a()
	h.Write([]byte(itemID))
	return fmt.Sprintf("PLAIDITEMS#%d", h.Sum32()%shards)
}

// Put writes (or replaces) an Item.
func (s *Store) Put(ctx context.Context, it Item) error {
	it.PK, it.SK = store.CompanyPK(it.PartnerID, it.CompanyID), skItem+it.ItemID
	it.GSI1PK, it.GSI1SK = shardPK(it.ItemID), it.ItemID
	if len(it.Accounts) > MaxAccounts {
		it.Accounts = it.Accounts[:MaxAccounts]
	}
	return s.Store.Put(ctx, it)
}

// Get reads one Item of the company (404 when absent).
func (s *Store) Get(ctx context.Context, pid, cid, itemID string) (Item, error) {
	var it Item
	err := s.Store.Get(ctx, store.CompanyPK(pid, cid), skItem+itemID, &it)
	if errors.Is(err, store.ErrNotFound) {
		return Item{}, apperr.New(apperr.NotFound, "plaid item not found")
	}
	return it, err
}

// List returns the company's Items (a company links a few banks; capped at 100).
func (s *Store) List(ctx context.Context, pid, cid string) ([]Item, error) {
	var out []Item
	_, err := s.Store.QueryPage(ctx, store.Query{PK: store.CompanyPK(pid, cid), SKPrefix: skItem, Limit: 100}, &out)
	return out, err
}

// Delete removes the Item record.
func (s *Store) Delete(ctx context.Context, it Item) error {
	return s.Store.Delete(ctx, store.CompanyPK(it.PartnerID, it.CompanyID), skItem+it.ItemID)
}

// ByItemID finds an Item by Plaid's item_id (webhooks carry only that). The
// partner is checked by the caller: an Item of another partner is not found.
func (s *Store) ByItemID(ctx context.Context, pid, itemID string) (Item, error) {
	var out []Item
	if _, err := s.Store.QueryPage(ctx, store.Query{PK: shardPK(itemID), Index: store.GSI1, SKFrom: itemID, SKTo: itemID, Limit: 10}, &out); err != nil {
		return Item{}, err
	}
	for _, it := range out {
		if it.PartnerID == pid {
			return s.Get(ctx, it.PartnerID, it.CompanyID, it.ItemID) // consistent read of the record
		}
	}
	return Item{}, apperr.New(apperr.NotFound, "plaid item not found")
}

// Update applies fn to the stored Item and writes it back only if the record
// still exists (a removed Item is never re-created by a late sync or webhook).
func (s *Store) Update(ctx context.Context, pid, cid, itemID string, fn func(*Item)) (Item, error) {
	it, err := s.Get(ctx, pid, cid, itemID)
	if err != nil {
		return Item{}, err
	}
	fn(&it)
	it.PK, it.SK = store.CompanyPK(it.PartnerID, it.CompanyID), skItem+it.ItemID
	it.GSI1PK, it.GSI1SK = shardPK(it.ItemID), it.ItemID
	if err := s.Store.PutIf(ctx, it, "attribute_exists(pk)", nil); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return Item{}, apperr.New(apperr.NotFound, "plaid item not found")
		}
		return Item{}, err
	}
	return it, nil
}

// Stale lists Items not synced since before cutoff, across all partners (the
// schedule's fallback for lost webhooks). It reads the few index partitions only.
func (s *Store) Stale(ctx context.Context, cutoff time.Time) ([]Item, error) {
	var out []Item
	for sh := 0; sh < shards; sh++ {
		err := s.Store.QueryAll(ctx, store.Query{PK: fmt.Sprintf("PLAIDITEMS#%d", sh), Index: store.GSI1, Limit: 500}, 0,
			func(rows []map[string]types.AttributeValue) error {
				var items []Item
				if err := attributevalue.UnmarshalListOfMaps(rows, &items); err != nil {
					return err
				}
				for _, it := range items {
					// Items waiting for the user (login required, revoked) are
					// not pulled again until a webhook says they work.
					if it.LastSyncedAt.Before(cutoff) && it.Status != StatusLoginRequired && it.Status != StatusPermissionRevoked {
						out = append(out, it)
					}
				}
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("read plaid items: %w", err)
		}
	}
	return out, nil
}

// SyncJob is the queue job that syncs one Item.
func SyncJob(it Item) queue.Job {
	return queue.Job{Kind: queue.KindPlaidSync, PartnerID: it.PartnerID, CompanyID: it.CompanyID, AccountID: it.ItemID}
}

// Schedule queues a sync of every Item not synced within interval. A failed
// send is counted; the Item stays stale and is tried on the next tick.
func (s *Store) Schedule(ctx context.Context, q queue.Enqueuer, interval time.Duration) (queued, failed int, err error) {
	items, err := s.Stale(ctx, s.Now().Add(-interval))
	if err != nil {
		return 0, 0, err
	}
	for _, it := range items {
		if err := q.Enqueue(ctx, SyncJob(it)); err != nil {
			failed++
			continue
		}
		queued++
	}
	return queued, failed, nil
}
