package splits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/store"
)

// Keys, all in the partner's partition (store.PartnerPK):
//
//	TAX#<tax>                   a tax rate
//	PSHIP#<partnership>         a partnership; PSHIPACCT#<acct> keeps accounts unique
//	INTENT#<intent>             a payment intent, with a version for optimistic locking
//	SPLIT#<intent>#<split>      a split (listed by intent); SPLITID#<split> points to its intent
//	PAYROUND#<intent>#<payment> one received payment and the payouts it released
//
// Every split change rewrites the intent with a version condition in the same
// transaction, so concurrent changes to one intent serialize and the over-allocation
// check always sees every split.
const (
	skTax       = "TAX#"
	skPship     = "PSHIP#"
	skPshipAcct = "PSHIPACCT#"
	skIntent    = "INTENT#"
	skSplit     = "SPLIT#"
	skSplitID   = "SPLITID#"
	skRound     = "PAYROUND#"
)

// record stores one domain object as JSON next to its keys: the domain types keep
// exact fractions and one JSON shape for API and storage.
type record struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	Kind      string `dynamodbav:"kind"`
	Version   int64  `dynamodbav:"version"`
	Data      string `dynamodbav:"data"`
}

// Store persists the split engine's objects in the single table.
type Store struct {
	DB *store.Store
}

func (s *Store) rec(pid, sk, kind string, version int64, v any) (record, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return record{}, fmt.Errorf("encode %s: %w", kind, err)
	}
	return record{Keys: store.Keys{PK: store.PartnerPK(pid), SK: sk}, PartnerID: pid, Kind: kind, Version: version, Data: string(b)}, nil
}

func (s *Store) get(ctx context.Context, pid, sk, what string, out any) (int64, error) {
	var r record
	if err := s.DB.Get(ctx, store.PartnerPK(pid), sk, &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, apperr.New(apperr.NotFound, "%s not found", what)
		}
		return 0, err
	}
	if r.PartnerID != pid { // keys already scope by partner; never trust a stray item
		return 0, apperr.New(apperr.NotFound, "%s not found", what)
	}
	if err := json.Unmarshal([]byte(r.Data), out); err != nil {
		return 0, fmt.Errorf("decode %s: %w", r.SK, err)
	}
	return r.Version, nil
}

func decodeRecords[T any](items []record) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, r := range items {
		var v T
		if err := json.Unmarshal([]byte(r.Data), &v); err != nil {
			return nil, fmt.Errorf("decode %s: %w", r.SK, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Store) page(ctx context.Context, pid, prefix string, limit int32, cursor string) ([]record, string, error) {
	var items []record
	next, err := s.DB.QueryPage(ctx, store.Query{PK: store.PartnerPK(pid), SKPrefix: prefix, Limit: limit, Cursor: cursor, Desc: true}, &items)
	return items, next, err
}

// Taxes.

// PutTax creates a tax.
func (s *Store) PutTax(ctx context.Context, pid string, t Tax) error {
	r, err := s.rec(pid, skTax+t.ID, "tax", 1, t)
	if err != nil {
		return err
	}
	return s.DB.PutNew(ctx, r)
}

// Tax reads a tax (404 when absent or another partner's).
func (s *Store) Tax(ctx context.Context, pid, id string) (Tax, error) {
	var t Tax
	if !validID(id) {
		return t, apperr.New(apperr.NotFound, "tax %s not found", id)
	}
	_, err := s.get(ctx, pid, skTax+id, "tax "+id, &t)
	return t, err
}

// ArchiveTax marks a tax archived (idempotent).
func (s *Store) ArchiveTax(ctx context.Context, pid, id string, at time.Time) (Tax, error) {
	t, err := s.Tax(ctx, pid, id)
	if err != nil || t.Archived() {
		return t, err
	}
	t.ArchivedAt = &at
	r, err := s.rec(pid, skTax+id, "tax", 2, t)
	if err != nil {
		return Tax{}, err
	}
	if err := s.DB.PutIf(ctx, r, "attribute_exists(pk)", nil); err != nil {
		return Tax{}, err
	}
	return t, nil
}

// Taxes lists taxes, newest first.
func (s *Store) Taxes(ctx context.Context, pid string, limit int32, cursor string) ([]Tax, string, error) {
	items, next, err := s.page(ctx, pid, skTax, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out, err := decodeRecords[Tax](items)
	return out, next, err
}

// Partnerships.

// PutPartnership creates a partnership; 409 when the account already is one.
func (s *Store) PutPartnership(ctx context.Context, pid string, p Partnership) error {
	r, err := s.rec(pid, skPship+p.ID, "partnership", 1, p)
	if err != nil {
		return err
	}
	u, err := s.rec(pid, skPshipAcct+p.StripeAccountID, "partnership-account", 1, p.ID)
	if err != nil {
		return err
	}
	a, err := s.DB.PutInput(r, "attribute_not_exists(pk)", nil)
	if err != nil {
		return err
	}
	b, err := s.DB.PutInput(u, "attribute_not_exists(pk)", nil)
	if err != nil {
		return err
	}
	if err := s.DB.Transact(ctx, []types.TransactWriteItem{store.TxPut(a), store.TxPut(b)}); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return apperr.New(apperr.Conflict, "account %s already is a partnership", p.StripeAccountID)
		}
		return err
	}
	return nil
}

// Partnership reads a partnership (404 when absent or another partner's).
func (s *Store) Partnership(ctx context.Context, pid, id string) (Partnership, error) {
	var p Partnership
	if !validID(id) {
		return p, apperr.New(apperr.NotFound, "partnership %s not found", id)
	}
	_, err := s.get(ctx, pid, skPship+id, "partnership "+id, &p)
	return p, err
}

// Partnerships lists partnerships, newest first.
func (s *Store) Partnerships(ctx context.Context, pid string, limit int32, cursor string) ([]Partnership, string, error) {
	items, next, err := s.page(ctx, pid, skPship, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out, err := decodeRecords[Partnership](items)
	return out, next, err
}

// Intents.

// Intent reads an intent and its version.
func (s *Store) Intent(ctx context.Context, pid, id string) (Intent, int64, error) {
	var in Intent
	if !validID(id) {
		return in, 0, apperr.New(apperr.NotFound, "payment intent %s not found", id)
	}
	v, err := s.get(ctx, pid, skIntent+id, "payment intent "+id, &in)
	return in, v, err
}

// Intents lists intents, newest first.
func (s *Store) Intents(ctx context.Context, pid string, limit int32, cursor string) ([]Intent, string, error) {
	items, next, err := s.page(ctx, pid, skIntent, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	out, err := decodeRecords[Intent](items)
	return out, next, err
}

// intentTx rewrites the intent at version+1, conditioned on version (0 = new).
func (s *Store) intentTx(pid string, in Intent, version int64) (types.TransactWriteItem, error) {
	r, err := s.rec(pid, skIntent+in.ID, "intent", version+1, in)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	cond, vals := "attribute_not_exists(pk)", map[string]any(nil)
	if version > 0 {
		cond, vals = "version = :v", map[string]any{":v": version}
	}
	put, err := s.DB.PutInput(r, cond, vals)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return store.TxPut(put), nil
}

// errChanged is returned when the intent changed since it was read: reload and retry.
var errChanged = apperr.New(apperr.Conflict, "the payment intent changed concurrently; retry")

// SaveIntent writes an intent at version+1, conditioned on version (0 = create).
func (s *Store) SaveIntent(ctx context.Context, pid string, in Intent, version int64) error {
	tx, err := s.intentTx(pid, in, version)
	if err != nil {
		return err
	}
	if err := s.DB.Transact(ctx, []types.TransactWriteItem{tx}); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return errChanged
		}
		return err
	}
	return nil
}

// Splits.

// Splits lists every split of an intent (bounded by MaxSplitsPerIntent).
func (s *Store) Splits(ctx context.Context, pid, intentID string) ([]Split, error) {
	recs, err := queryAll[record](ctx, s.DB, store.Query{PK: store.PartnerPK(pid), SKPrefix: skSplit + intentID + "#"}, MaxSplitsPerIntent+1)
	if err != nil {
		return nil, err
	}
	return decodeRecords[Split](recs)
}

// queryAll pages through a query into typed items, at most max of them.
func queryAll[T any](ctx context.Context, db *store.Store, q store.Query, max int) ([]T, error) {
	var out []T
	for {
		var page []T
		next, err := db.QueryPage(ctx, q, &page)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || len(out) >= max {
			return out, nil
		}
		q.Cursor = next
	}
}

// SplitIntent returns the intent a split belongs to (404 when unknown).
func (s *Store) SplitIntent(ctx context.Context, pid, splitID string) (string, error) {
	var intentID string
	if !validID(splitID) {
		return "", apperr.New(apperr.NotFound, "split %s not found", splitID)
	}
	_, err := s.get(ctx, pid, skSplitID+splitID, "split "+splitID, &intentID)
	return intentID, err
}

// WriteSplit creates (create=true) or replaces a split, rewriting the intent at
// its version in the same transaction.
func (s *Store) WriteSplit(ctx context.Context, pid string, in Intent, version int64, sp Split, create bool) error {
	r, err := s.rec(pid, skSplit+in.ID+"#"+sp.ID, "split", 1, sp)
	if err != nil {
		return err
	}
	cond := "attribute_exists(pk)"
	if create {
		cond = "attribute_not_exists(pk)"
	}
	put, err := s.DB.PutInput(r, cond, nil)
	if err != nil {
		return err
	}
	itx, err := s.intentTx(pid, in, version)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{store.TxPut(put), itx}
	if create {
		ptr, err := s.rec(pid, skSplitID+sp.ID, "split-ref", 1, in.ID)
		if err != nil {
			return err
		}
		pin, err := s.DB.PutInput(ptr, "attribute_not_exists(pk)", nil)
		if err != nil {
			return err
		}
		items = append(items, store.TxPut(pin))
	}
	if err := s.DB.Transact(ctx, items); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return errChanged
		}
		return err
	}
	return nil
}

// DeleteSplit removes a split and its pointer, rewriting the intent at its version.
func (s *Store) DeleteSplit(ctx context.Context, pid string, in Intent, version int64, splitID string) error {
	itx, err := s.intentTx(pid, in, version)
	if err != nil {
		return err
	}
	pk := store.PartnerPK(pid)
	items := []types.TransactWriteItem{
		s.DB.TxDelete(pk, skSplit+in.ID+"#"+splitID, "attribute_exists(pk)"),
		s.DB.TxDelete(pk, skSplitID+splitID, ""),
		itx,
	}
	if err := s.DB.Transact(ctx, items); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return errChanged
		}
		return err
	}
	return nil
}

// Payment rounds.

// Round is one payment received on an intent and the payouts it released.
type Round struct {
	store.Keys
	PartnerID     string    `dynamodbav:"partner_id" json:"-"`
	Intent        string    `dynamodbav:"intent" json:"payment_intent"`
	Payment       string    `dynamodbav:"payment" json:"payment"` // the provider's payment ID
	Amount        int64     `dynamodbav:"amount" json:"amount"`
	ReceivedAfter int64     `dynamodbav:"received_after" json:"received_after"`
	Retained      int64     `dynamodbav:"retained" json:"retained"` // the tenant's proportional share
	Payouts       []Payout  `dynamodbav:"payouts" json:"payouts"`
	CreatedAt     time.Time `dynamodbav:"created_at" json:"created_at"`
	// Funding (platform charges): the charge that paid the round, its Stripe fee
	// (taken from the tenant's share, so the transfers never exceed the charge's
	// net), and what refunds and disputes have taken back so far.
	Charge   string `dynamodbav:"charge,omitempty" json:"charge,omitempty"`
	Method   string `dynamodbav:"method,omitempty" json:"method,omitempty"`
	Fee      int64  `dynamodbav:"fee" json:"fee"`
	Refunded int64  `dynamodbav:"refunded" json:"amount_refunded"`
	Disputed int64  `dynamodbav:"disputed" json:"amount_disputed"`
}

// SaveRound rewrites a round after reversals, only if no other refund or
// dispute was applied since old was read.
func (s *Store) SaveRound(ctx context.Context, pid string, r Round, old Round) error {
	r.Keys = store.Keys{PK: store.PartnerPK(pid), SK: roundSK(r.Intent, r.Payment)}
	r.PartnerID = pid
	return s.DB.PutIf(ctx, r, "(refunded = :r OR attribute_not_exists(refunded)) AND (disputed = :d OR attribute_not_exists(disputed))",
		map[string]any{":r": old.Refunded, ":d": old.Disputed})
}

// Payout is one transfer of a round to a partnership.
type Payout struct {
	Key            string      `dynamodbav:"key" json:"key"` // "split:<id>" or "supplier"
	Split          string      `dynamodbav:"split,omitempty" json:"split,omitempty"`
	Type           SplitType   `dynamodbav:"type" json:"type"`
	Partnership    string      `dynamodbav:"partnership" json:"partnership"`
	Account        string      `dynamodbav:"account" json:"stripe_account_id"`
	Amount         int64       `dynamodbav:"amount" json:"amount"`
	Status         SplitStatus `dynamodbav:"status" json:"status"`
	Attempt        int         `dynamodbav:"attempt" json:"attempt"`
	IdempotencyKey string      `dynamodbav:"idempotency_key" json:"-"`
	TransferID     string      `dynamodbav:"transfer_id,omitempty" json:"transfer_id,omitempty"`
	Error          string      `dynamodbav:"error,omitempty" json:"error,omitempty"`
	UpdatedAt      time.Time   `dynamodbav:"updated_at" json:"updated_at"`
	// SourceTransaction is the charge the transfer draws on ("" for ACH-type
	// payments, transferred from the platform balance once they succeeded).
	SourceTransaction string `dynamodbav:"source_transaction,omitempty" json:"source_transaction,omitempty"`
	// Reversed is what refunds and disputes reversed of the transfer; Unrecovered
	// is what Stripe refused to reverse (the payee's balance was short).
	Reversed    int64    `dynamodbav:"reversed" json:"amount_reversed"`
	Unrecovered int64    `dynamodbav:"unrecovered" json:"amount_unrecovered"`
	Reversals   []string `dynamodbav:"reversals,omitempty" json:"reversals,omitempty"`
}

func roundSK(intentID, payment string) string { return skRound + intentID + "#" + payment }

// Round reads one round; ErrNotFound (store) when absent.
func (s *Store) Round(ctx context.Context, pid, intentID, payment string) (Round, error) {
	var r Round
	err := s.DB.Get(ctx, store.PartnerPK(pid), roundSK(intentID, payment), &r)
	return r, err
}

// Rounds lists an intent's rounds (one per payment received), oldest first.
func (s *Store) Rounds(ctx context.Context, pid, intentID string) ([]Round, error) {
	rs, err := queryAll[Round](ctx, s.DB, store.Query{PK: store.PartnerPK(pid), SKPrefix: skRound + intentID + "#"}, 10000)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].CreatedAt.Before(rs[j].CreatedAt) })
	return rs, err
}

// RecordRound stores a new round and the intent's new received total in one
// transaction: the round is created once per payment (a redelivered payment finds
// it) and the intent must still be at version. Returns errChanged or
// store.ErrConditionFailed-wrapped errRoundExists accordingly.
func (s *Store) RecordRound(ctx context.Context, pid string, in Intent, version int64, r Round) error {
	r.Keys = store.Keys{PK: store.PartnerPK(pid), SK: roundSK(in.ID, r.Payment)}
	r.PartnerID = pid
	put, err := s.DB.PutInput(r, "attribute_not_exists(pk)", nil)
	if err != nil {
		return err
	}
	itx, err := s.intentTx(pid, in, version)
	if err != nil {
		return err
	}
	if err := s.DB.Transact(ctx, []types.TransactWriteItem{store.TxPut(put), itx}); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return errChanged // either the intent moved or the round exists: the caller rereads both
		}
		return err
	}
	return nil
}

// SetPayout updates one payout of a round in place, if it is still in state from
// (its key guards against a shifted index).
func (s *Store) SetPayout(ctx context.Context, pid string, r Round, i int, from []SplitStatus, p Payout) error {
	return s.SetPayoutWith(ctx, pid, r, i, from, p, nil)
}

// SetPayoutWith is SetPayout committing extra writes (an event) in the same
// transaction, so they happen only if the payout moved.
func (s *Store) SetPayoutWith(ctx context.Context, pid string, r Round, i int, from []SplitStatus, p Payout, extra []types.TransactWriteItem) error {
	idx := strconv.Itoa(i)
	set := "SET payouts[" + idx + "].#st = :st, payouts[" + idx + "].attempt = :at, payouts[" + idx + "].idempotency_key = :ik, payouts[" + idx + "].updated_at = :u"
	vals := map[string]any{":st": string(p.Status), ":at": p.Attempt, ":ik": p.IdempotencyKey, ":u": p.UpdatedAt, ":k": p.Key}
	var remove []string
	if p.TransferID != "" {
		set += ", payouts[" + idx + "].transfer_id = :tr"
		vals[":tr"] = p.TransferID
	} else {
		remove = append(remove, "payouts["+idx+"].transfer_id")
	}
	if p.Error != "" {
		set += ", payouts[" + idx + "].#er = :er"
		vals[":er"] = p.Error
	} else {
		remove = append(remove, "payouts["+idx+"].#er")
	}
	cond := "payouts[" + idx + "].#k = :k AND ("
	for j, st := range from {
		if j > 0 {
			cond += " OR "
		}
		ph := ":f" + strconv.Itoa(j)
		cond += "payouts[" + idx + "].#st = " + ph
		vals[ph] = string(st)
	}
	cond += ")"
	expr := set
	if len(remove) > 0 {
		expr += " REMOVE " + joinComma(remove)
	}
	av, err := store.Values(vals)
	if err != nil {
		return err
	}
	u := &types.Update{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.PartnerPK(pid), roundSK(r.Intent, r.Payment)),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#st": "status", "#k": "key", "#er": "error"},
		ExpressionAttributeValues: av,
	}
	err = s.DB.UpdateWith(ctx, u, extra)
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("update payout %s of %s: %w", p.Key, r.Payment, err)
	}
	return err
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}
