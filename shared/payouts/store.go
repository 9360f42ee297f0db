package payouts

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Store keeps payouts under the company partition: sk PAYOUT#<id>, and their
// items under PAYOUTITEM#<payoutID>#<seq, 6 digits>.
type Store struct {
	DB *store.Store
	// IDs makes the IDs of payout.itemised events.
	IDs outbox.IDs
	Now func() time.Time
	// OnChange, when set, is told after a payout's state or itemisation is written
	// (reconciliation marks the company due and reads only changed payouts).
	OnChange func(ctx context.Context, p Payout) error
}

// Changed calls OnChange; writers that commit UpsertTx in their own
// transaction call it after the commit.
func (s *Store) Changed(ctx context.Context, p Payout) error {
	if s.OnChange == nil {
		return nil
	}
	return s.OnChange(ctx, p)
}

// SK returns a payout's sort key.
func SK(payoutID string) string { return "PAYOUT#" + payoutID }

// ItemSK returns an item's sort key.
func ItemSK(payoutID string, seq int) string { return fmt.Sprintf("PAYOUTITEM#%s#%06d", payoutID, seq) }

// record is the stored shape: the payout plus its keys and status rank (the
// rank is stored so the out-of-order guard is a single conditional write).
type record struct {
	store.Keys
	Payout
	StatusRank int `dynamodbav:"status_rank"`
}

type itemRecord struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	CompanyID string `dynamodbav:"company_id"`
	Item
}

// ErrStale is returned by Upsert when the stored payout is already newer.
var ErrStale = errors.New("payouts: stored state is newer")

// UpsertTx builds the conditional update that records p's provider state without
// ever moving it backwards: it applies when the payout is new, when p's status
// ranks higher, or when the rank is equal and p's provider timestamp is not older.
// Itemisation fields are left alone (only initialised), so a late payout.updated
// never wipes an itemisation. Use it inside a transaction with the event marker.
func (s *Store) UpsertTx(p Payout) (types.TransactWriteItem, error) {
	u, err := s.upsertUpdate(p)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Update: u}, nil
}

func (s *Store) upsertUpdate(p Payout) (*types.Update, error) {
	if p.PartnerID == "" || p.CompanyID == "" || p.ID == "" {
		return nil, errors.New("payouts: partner, company and id are required")
	}
	now := s.now()
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = now
	}
	// Whole seconds: stored times then share one text layout, so the string
	// comparisons of ListPaid's filter order them correctly.
	p.UpdatedAt = p.UpdatedAt.UTC().Truncate(time.Second)
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	set := map[string]any{
		"partner_id": p.PartnerID, "company_id": p.CompanyID, "id": p.ID, "provider": p.Provider,
		"account_id": p.AccountID, "amount": p.Amount, "currency": p.Currency, "status": p.Status,
		"status_rank": Rank(p.Status), "automatic": p.Automatic, "updated_at": p.UpdatedAt,
		"provider_updated": p.ProviderUpdated,
	}
	for k, v := range map[string]string{"arrival_date": p.ArrivalDate, "descriptor": p.Descriptor, "reference": p.Reference, "failure_code": p.FailureCode, "reversal_id": p.ReversalID} {
		if v != "" { // old DynamoDB Local builds reject empty strings
			set[k] = v
		}
	}
	names := map[string]string{}
	values := map[string]any{":rank": Rank(p.Status), ":pu": p.ProviderUpdated, ":created": p.CreatedAt, ":ipending": ItemisationPending, ":zero": 0}
	parts := make([]string, 0, len(set)+3)
	for k, v := range set {
		names["#"+k] = k
		values[":"+k] = v
		parts = append(parts, "#"+k+" = :"+k)
	}
	names["#created_at"], names["#istatus"], names["#icount"] = "created_at", "itemisation_status", "item_count"
	parts = append(parts, "#created_at = if_not_exists(#created_at, :created)",
		"#istatus = if_not_exists(#istatus, :ipending)", "#icount = if_not_exists(#icount, :zero)")
	av, err := store.Values(values)
	if err != nil {
		return nil, err
	}
	return &types.Update{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.CompanyPK(p.PartnerID, p.CompanyID), SK(p.ID)),
		UpdateExpression:          aws.String("SET " + strings.Join(parts, ", ")),
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #status_rank < :rank OR (#status_rank = :rank AND #provider_updated <= :pu)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: av,
	}, nil
}

// Upsert records p on its own; ErrStale when the stored state is newer.
func (s *Store) Upsert(ctx context.Context, p Payout) error {
	u, err := s.upsertUpdate(p)
	if err != nil {
		return err
	}
	_, err = s.DB.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrStale
	}
	if err != nil {
		return fmt.Errorf("upsert payout %s: %w", p.ID, err)
	}
	return s.Changed(ctx, p)
}

// Get returns one payout (without items); 404 apperr when absent.
func (s *Store) Get(ctx context.Context, partnerID, companyID, id string) (Payout, error) {
	var r record
	if err := s.DB.Get(ctx, store.CompanyPK(partnerID, companyID), SK(id), &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Payout{}, apperr.New(apperr.NotFound, "payout not found")
		}
		return Payout{}, err
	}
	return r.Payout, nil
}

// Items returns a payout's current itemisation in order.
func (s *Store) Items(ctx context.Context, partnerID, companyID, payoutID string) ([]Item, error) {
	p, err := s.Get(ctx, partnerID, companyID, payoutID)
	if err != nil {
		return nil, err
	}
	return s.items(ctx, p)
}

func (s *Store) items(ctx context.Context, p Payout) ([]Item, error) {
	out := []Item{}
	if p.ItemCount == 0 {
		return out, nil
	}
	q := store.Query{PK: store.CompanyPK(p.PartnerID, p.CompanyID), SKPrefix: "PAYOUTITEM#" + p.ID + "#", Limit: 500}
	err := queryEach(ctx, s.DB, q, func(recs []itemRecord) {
		for _, r := range recs {
			// A re-itemisation that found fewer lines leaves stale higher seqs; ItemCount is authoritative.
			if r.Seq < p.ItemCount {
				out = append(out, r.Item)
			}
		}
	})
	return out, err
}

// queryEach pages through a whole (bounded) partition query.
func queryEach[T any](ctx context.Context, db *store.Store, q store.Query, fn func([]T)) error {
	for {
		var page []T
		next, err := db.QueryPage(ctx, q, &page)
		if err != nil {
			return err
		}
		fn(page)
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// ListPaid returns the company's paid payouts updated at or after since (for reconciliation).
func (s *Store) ListPaid(ctx context.Context, partnerID, companyID string, updatedSince time.Time) ([]Payout, error) {
	out := []Payout{}
	q := store.Query{
		PK: store.CompanyPK(partnerID, companyID), SKPrefix: "PAYOUT#", Limit: 500,
		Filter: "#st = :paid AND #ua >= :since", Names: map[string]string{"#st": "status", "#ua": "updated_at"},
		Values: map[string]any{":paid": StatusPaid, ":since": updatedSince.UTC().Truncate(time.Second)},
	}
	err := queryEach(ctx, s.DB, q, func(recs []record) {
		for _, r := range recs {
			out = append(out, r.Payout)
		}
	})
	return out, err
}

// List returns one page of the company's payouts, newest ID first: summaries
// only (a payout's items are paged on their own, see ItemsPage), so a page's
// size does not depend on how many items the payouts have.
func (s *Store) List(ctx context.Context, partnerID, companyID string, limit int32, cursor string) ([]Payout, string, error) {
	var recs []record
	next, err := s.DB.QueryPage(ctx, store.Query{PK: store.CompanyPK(partnerID, companyID), SKPrefix: "PAYOUT#", Desc: true, Limit: limit, Cursor: cursor}, &recs)
	if err != nil {
		return nil, "", err
	}
	out := make([]Payout, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Payout)
	}
	return out, next, nil
}

// MaxItemsPage is the largest page of ItemsPage: MaxItemsPage × MaxItemBytes
// bounds the response (≈ 1 MB as JSON), far below Lambda's 6 MB.
const MaxItemsPage = 500

// ItemsPage returns one page of a payout's items in order (404 apperr for an
// unknown payout). The cursor is the store's partition-scoped cursor.
func (s *Store) ItemsPage(ctx context.Context, partnerID, companyID, payoutID string, limit int32, cursor string) ([]Item, string, error) {
	p, err := s.Get(ctx, partnerID, companyID, payoutID)
	if err != nil {
		return nil, "", err
	}
	out := []Item{}
	if p.ItemCount == 0 {
		return out, "", nil
	}
	limit = min(max(limit, 1), MaxItemsPage)
	// Items past ItemCount (left by a longer earlier itemisation) are outside the range.
	q := store.Query{PK: store.CompanyPK(partnerID, companyID), SKFrom: ItemSK(p.ID, 0), SKTo: ItemSK(p.ID, p.ItemCount-1), Limit: limit, Cursor: cursor}
	var recs []itemRecord
	next, err := s.DB.QueryPage(ctx, q, &recs)
	if err != nil {
		return nil, "", err
	}
	for _, r := range recs {
		out = append(out, r.Item)
	}
	return out, next, nil
}

// SetItems stores a whole itemisation at once (replacing any earlier one) and
// marks the payout complete or incomplete: WriteItems then FinishItems. Use
// the streaming form (WriteItems, Checkpoint, FinishItems) for large payouts.
func (s *Store) SetItems(ctx context.Context, p Payout, items []Item) (string, error) {
	pr, err := s.WriteItems(ctx, p, Progress{}, items)
	if err != nil {
		return "", err
	}
	return s.FinishItems(ctx, p, pr)
}

// batchSize is BatchWriteItem's limit of put requests per call. Items are at
// most MaxItemBytes, so a batch (≤ 25 × 2 KB) is far below its 16 MB limit.
const batchSize = store.MaxBatchWrite

// WriteItems writes items after those pr already counts (their seq continues
// from pr.Count), 25 per BatchWriteItem call, and returns the progress after
// them. Writes are idempotent by seq, so a retry rewrites the same items.
func (s *Store) WriteItems(ctx context.Context, p Payout, pr Progress, items []Item) (Progress, error) {
	pk := store.CompanyPK(p.PartnerID, p.CompanyID)
	// A copy: the caller's progress stays as it was when a write fails.
	pr.Totals = maps.Clone(pr.Totals)
	for start := 0; start < len(items); start += batchSize {
		end := min(start+batchSize, len(items))
		reqs := make([]types.WriteRequest, 0, end-start)
		for _, it := range items[start:end] {
			it.PayoutID, it.Seq = p.ID, pr.Count
			if it.Currency == "" {
				it.Currency = p.Currency
			}
			it.Clip()
			r := itemRecord{PartnerID: p.PartnerID, CompanyID: p.CompanyID, Item: it}
			r.PK, r.SK = pk, ItemSK(p.ID, it.Seq)
			req, err := store.PutRequest(r)
			if err != nil {
				return pr, err
			}
			reqs = append(reqs, req)
			pr.Count++
			pr.Net += it.Net
			if pr.Totals != nil || pr.Count == 1 {
				if pr.Totals == nil {
					pr.Totals = map[string]KindTotal{}
				}
				AddTotal(pr.Totals, it)
			}
		}
		if err := s.DB.BatchWrite(ctx, reqs); err != nil {
			return pr, fmt.Errorf("write items of %s: %w", p.ID, err)
		}
	}
	return pr, nil
}

// Checkpoint records an itemisation's progress on the payout (one UpdateItem),
// so a job that times out resumes from pr. Call it after WriteItems returned.
func (s *Store) Checkpoint(ctx context.Context, p Payout, pr Progress) error {
	prAV, err := store.Marshal(pr)
	if err != nil {
		return err
	}
	_, err = s.DB.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.CompanyPK(p.PartnerID, p.CompanyID), SK(p.ID)),
		UpdateExpression:          aws.String("SET itemise = :pr"),
		ConditionExpression:       aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pr": &types.AttributeValueMemberM{Value: prAV}},
	})
	if err != nil {
		return fmt.Errorf("checkpoint itemisation of %s: %w", p.ID, err)
	}
	return nil
}

// FinishItems ends an itemisation of pr.Count items: the payout is complete
// when their nets sum exactly to its amount, incomplete otherwise; the
// checkpoint is cleared. Items are always written before this, so a crash
// leaves the payout pending and the retried job finishes it.
func (s *Store) FinishItems(ctx context.Context, p Payout, pr Progress) (string, error) {
	status := ItemisationComplete
	if pr.Net != p.Amount {
		status = ItemisationIncomplete
	}
	values := map[string]any{":st": status, ":n": pr.Count, ":now": s.now()}
	update := "SET itemisation_status = :st, item_count = :n, updated_at = :now"
	remove := " REMOVE itemise"
	// Totals are stored only when they cover every item (a checkpoint from
	// before they were kept resumes without them); stale ones are removed.
	totals := pr.Totals
	if totals == nil && pr.Count == 0 {
		totals = map[string]KindTotal{}
	}
	if totals != nil {
		update += ", totals = :tot"
		values[":tot"] = totals
	} else {
		remove += ", totals"
	}
	if p.ItemisationIssue != "" && status != ItemisationComplete {
		update += ", itemisation_issue = :iss, itemisation_note = :note"
		values[":iss"], values[":note"] = p.ItemisationIssue, p.ItemisationNote
	} else {
		remove += ", itemisation_issue, itemisation_note"
	}
	update += remove
	av, err := store.Values(values)
	if err != nil {
		return "", err
	}
	key := store.Key(store.CompanyPK(p.PartnerID, p.CompanyID), SK(p.ID))
	p.ItemisationStatus, p.ItemCount, p.Progress, p.Totals = status, pr.Count, Progress{}, totals
	p.UpdatedAt = values[":now"].(time.Time)
	if status == ItemisationComplete || p.ItemisationIssue == "" {
		p.ItemisationIssue, p.ItemisationNote = "", ""
	}
	// payout.itemised goes out with the write that finishes an itemisation,
	// unless the payout already reads the same (a retried job, a re-pull that
	// found the same lines): then the write refreshes it without an event.
	ev, err := outbox.Emit(s.DB.Table, s.IDs, p.UpdatedAt, outbox.PayoutItemised, p.PartnerID, p.CompanyID, p.ID, p)
	if err != nil {
		return "", err
	}
	same := ":st = itemisation_status AND :n = item_count"
	err = s.DB.Transact(ctx, []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.DB.Table), Key: key, UpdateExpression: aws.String(update),
		ConditionExpression: aws.String("attribute_exists(pk) AND NOT (" + same + ")"), ExpressionAttributeValues: av,
	}}, ev})
	if errors.Is(err, store.ErrConditionFailed) {
		_, err = s.DB.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.DB.Table), Key: key, UpdateExpression: aws.String(update),
			ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeValues: av,
		})
	}
	if err != nil {
		return "", fmt.Errorf("mark %s itemised: %w", p.ID, err)
	}
	return status, s.Changed(ctx, p)
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC().Truncate(time.Second)
	}
	return s.Now().UTC().Truncate(time.Second)
}
