// Package payments records money received for invoices (card charges, ACH
// debits, Qualpay transactions) with gross, fee and net, written by the
// webhook handlers and read by the API.
package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/store"
)

// Statuses, ranked by Rank so out-of-order events never regress a payment.
const (
	StatusProcessing        = "processing"
	StatusFailed            = "failed"
	StatusCanceled          = "canceled"
	StatusSucceeded         = "succeeded"
	StatusPartiallyRefunded = "partially_refunded"
	StatusRefunded          = "refunded"
)

// Rank orders payment statuses. A failed attempt may be followed by a new
// processing attempt, so those compare by provider timestamp (equal rank).
func Rank(s string) int {
	switch s {
	case StatusProcessing, StatusFailed:
		return 1
	case StatusCanceled:
		return 2
	case StatusSucceeded:
		return 3
	case StatusPartiallyRefunded:
		return 4
	case StatusRefunded:
		return 5
	}
	return 0
}

// Payment is money received (or attempted) for an invoice.
type Payment struct {
	store.Keys
	PartnerID      string    `dynamodbav:"partner_id" json:"-"`
	CompanyID      string    `dynamodbav:"company_id" json:"company_id"`
	ID             string    `dynamodbav:"id" json:"id"` // pi_… (or ch_… without an intent; Qualpay pg_id)
	Provider       string    `dynamodbav:"provider" json:"provider"`
	AccountID      string    `dynamodbav:"account_id" json:"account_id"`
	Status         string    `dynamodbav:"status" json:"status"`
	Gross          int64     `dynamodbav:"gross" json:"gross"`
	Fee            int64     `dynamodbav:"fee" json:"fee"`
	Net            int64     `dynamodbav:"net" json:"net"`
	FeeKnown       bool      `dynamodbav:"fee_known" json:"fee_known"` // false until the balance transaction is seen
	Currency       string    `dynamodbav:"currency" json:"currency"`
	Method         string    `dynamodbav:"method,omitempty" json:"method,omitempty"` // card, us_bank_account, …
	Customer       string    `dynamodbav:"customer,omitempty" json:"customer,omitempty"`
	InvoiceID      string    `dynamodbav:"invoice_id,omitempty" json:"invoice_id,omitempty"`
	ChargeID       string    `dynamodbav:"charge_id,omitempty" json:"charge_id,omitempty"`
	AmountRefunded int64     `dynamodbav:"amount_refunded" json:"amount_refunded"`
	DisputeID      string    `dynamodbav:"dispute_id,omitempty" json:"dispute_id,omitempty"`
	DisputeStatus  string    `dynamodbav:"dispute_status,omitempty" json:"dispute_status,omitempty"`
	FailureCode    string    `dynamodbav:"failure_code,omitempty" json:"failure_code,omitempty"`
	CreatedAt      time.Time `dynamodbav:"created_at" json:"created_at"`
	UpdatedAt      time.Time `dynamodbav:"updated_at" json:"updated_at"`
	// ProviderUpdated is the provider timestamp of the last status applied.
	ProviderUpdated int64 `dynamodbav:"provider_updated" json:"-"`
	StatusRank      int   `dynamodbav:"status_rank" json:"-"`
}

// Store is the payment store (company partition, sk PAYMENT#<id>).
type Store struct {
	DB  *store.Store
	Now func() time.Time
}

const skPrefix = "PAYMENT#"

// SK is a payment's sort key.
func SK(id string) string { return skPrefix + id }

// Change is what one event knows about a payment. Empty strings and nil
// pointers leave stored fields as they are, so events that carry different
// parts of the picture (payment_intent.*, charge.*) merge.
type Change struct {
	PartnerID, CompanyID, ID, Provider, AccountID string
	Status                                        string // "" = no status change
	ProviderUpdated                               int64  // event created (unix seconds)
	Gross                                         *int64
	Fee                                           *int64 // with Gross, also sets Net and fee_known
	Currency, Method, Customer, InvoiceID         string
	ChargeID, FailureCode                         string
	AmountRefunded                                *int64 // monotonic (max)
	DisputeID, DisputeStatus                      string
	// NoInvoice guards the write on the payment having no invoice recorded:
	// the caller planned without reading it (the webhook hot path), and a
	// payment an earlier event linked to an invoice fails the guard and is
	// planned again with the read.
	NoInvoice bool
	// AsRecorded widens NoInvoice's guard for an event that restates the
	// payment (a charge.succeeded after its payment_intent.succeeded): the
	// write also applies when the payment already records this status, charge,
	// gross and currency. Those were written together with the payment's
	// invoice link, which therefore already counts this event's money: the
	// read path would write nothing to the invoice either.
	AsRecorded bool
}

// UpsertTx builds the guarded update for c. With a Status, it applies only when
// the status ranks higher, or ranks equal and the event is not older; without
// one, it only merges facts (refund totals only grow).
func (s *Store) UpsertTx(c Change) (types.TransactWriteItem, error) {
	if c.PartnerID == "" || c.CompanyID == "" || c.ID == "" {
		return types.TransactWriteItem{}, errors.New("payments: partner, company and id are required")
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	e := &expr{names: map[string]string{}, values: map[string]any{}}
	e.set("partner_id", c.PartnerID)
	e.set("company_id", c.CompanyID)
	e.set("id", c.ID)
	e.set("updated_at", now)
	e.init("created_at", now)
	for _, kv := range [][2]string{{"provider", c.Provider}, {"account_id", c.AccountID}, {"currency", c.Currency}, {"method", c.Method},
		{"customer", c.Customer}, {"invoice_id", c.InvoiceID}, {"charge_id", c.ChargeID}, {"failure_code", c.FailureCode},
		{"dispute_id", c.DisputeID}, {"dispute_status", c.DisputeStatus}} {
		if kv[1] != "" { // old DynamoDB Local builds reject empty strings
			e.set(kv[0], kv[1])
		}
	}
	if c.Gross != nil {
		e.set("gross", *c.Gross)
	} else {
		e.init("gross", int64(0))
	}
	if c.Gross != nil && c.Fee != nil {
		e.set("fee", *c.Fee)
		e.set("net", *c.Gross-*c.Fee)
		e.set("fee_known", true)
	} else {
		e.init("fee", int64(0))
		e.init("net", int64(0))
		e.init("fee_known", false)
	}
	cond := ""
	if c.AmountRefunded != nil {
		e.set("amount_refunded", *c.AmountRefunded)
		// Refund totals only grow.
		cond = "(attribute_not_exists(#amount_refunded) OR #amount_refunded <= :amount_refunded)"
	} else {
		e.init("amount_refunded", int64(0))
	}
	if c.Status != "" {
		e.set("status", c.Status)
		e.set("status_rank", Rank(c.Status))
		e.set("provider_updated", c.ProviderUpdated)
		guard := "(#status_rank < :status_rank OR (#status_rank = :status_rank AND #provider_updated <= :provider_updated))"
		if cond != "" {
			guard = "(" + guard + " AND " + cond + ")"
		}
		cond = "attribute_not_exists(pk) OR " + guard
	} else if cond != "" {
		cond = "attribute_not_exists(pk) OR " + cond
	}
	if c.NoInvoice && c.InvoiceID == "" {
		e.names["#invoice_id"] = "invoice_id"
		guard := "attribute_not_exists(#invoice_id)"
		if c.AsRecorded && c.Status != "" && c.ChargeID != "" && c.Gross != nil && c.Currency != "" {
			// The names and values are those of the SET clauses above.
			guard = "(" + guard + " OR (#status = :status AND #charge_id = :charge_id AND #gross = :gross AND #currency = :currency))"
		}
		if cond == "" {
			cond = guard
		} else {
			cond = "(" + cond + ") AND " + guard
		}
	}
	av, err := store.Values(e.values)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	u := &types.Update{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.CompanyPK(c.PartnerID, c.CompanyID), SK(c.ID)),
		UpdateExpression: aws.String("SET " + strings.Join(e.parts, ", ")), ExpressionAttributeNames: e.names, ExpressionAttributeValues: av,
	}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Update: u}, nil
}

// expr collects SET clauses with only the names and values they use
// (DynamoDB rejects unused ones).
type expr struct {
	parts  []string
	names  map[string]string
	values map[string]any
}

func (e *expr) set(attr string, v any) {
	e.names["#"+attr], e.values[":"+attr] = attr, v
	e.parts = append(e.parts, "#"+attr+" = :"+attr)
}

func (e *expr) init(attr string, v any) {
	e.names["#"+attr], e.values[":"+attr] = attr, v
	e.parts = append(e.parts, "#"+attr+" = if_not_exists(#"+attr+", :"+attr+")")
}

// Get returns one payment; 404 apperr when absent.
func (s *Store) Get(ctx context.Context, partnerID, companyID, id string) (Payment, error) {
	var p Payment
	if err := s.DB.Get(ctx, store.CompanyPK(partnerID, companyID), SK(id), &p); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Payment{}, apperr.New(apperr.NotFound, "payment not found")
		}
		return Payment{}, err
	}
	return p, nil
}

// List returns a page of the company's payments, newest ID first, optionally by status.
func (s *Store) List(ctx context.Context, partnerID, companyID, status string, limit int32, cursor string) ([]Payment, string, error) {
	q := store.Query{PK: store.CompanyPK(partnerID, companyID), SKPrefix: skPrefix, Desc: true, Limit: limit, Cursor: cursor}
	if status != "" {
		if Rank(status) == 0 {
			return nil, "", apperr.FieldErrors(map[string]string{"status": "unknown payment status"})
		}
		q.Filter, q.Names, q.Values = "#st = :st", map[string]string{"#st": "status"}, map[string]any{":st": status}
	}
	out := []Payment{}
	next, err := s.DB.QueryPage(ctx, q, &out)
	return out, next, err
}

// GetMany reads payments by ID, 100 keys per BatchGetItem (DynamoDB's limit),
// retrying unprocessed keys. Unknown IDs are absent from the result.
func (s *Store) GetMany(ctx context.Context, partnerID, companyID string, ids []string) (map[string]Payment, error) {
	pk := store.CompanyPK(partnerID, companyID)
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, store.Key(pk, SK(id)))
		}
	}
	out := make(map[string]Payment, len(keys))
	err := store.BatchGetAs(ctx, s.DB, keys, func(p Payment) { out[p.ID] = p })
	return out, err
}

// FeeUpdate is one payment's gross and fee learnt from its balance transaction.
type FeeUpdate struct {
	ID         string
	Gross, Fee int64
}

// SetFees records fees for payments known to exist (read by GetMany just
// before), as many updates a transaction as the table takes (100 in AWS, 10 on
// DynamoDB Local). A payment deleted meanwhile fails its transaction: the
// caller's job is retried.
func (s *Store) SetFees(ctx context.Context, partnerID, companyID string, fees []FeeUpdate) error {
	pk := store.CompanyPK(partnerID, companyID)
	now := s.Now().UTC()
	step := s.DB.TxLimit()
	for start := 0; start < len(fees); start += step {
		tx := make([]types.TransactWriteItem, 0, step)
		for _, f := range fees[start:min(start+step, len(fees))] {
			av, err := store.Values(map[string]any{":g": f.Gross, ":f": f.Fee, ":n": f.Gross - f.Fee, ":t": true, ":now": now})
			if err != nil {
				return err
			}
			tx = append(tx, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.DB.Table), Key: store.Key(pk, SK(f.ID)),
				UpdateExpression:          aws.String("SET gross = :g, fee = :f, net = :n, fee_known = :t, updated_at = :now"),
				ConditionExpression:       aws.String("attribute_exists(pk)"),
				ExpressionAttributeValues: av,
			}})
		}
		if err := s.DB.Transact(ctx, tx); err != nil {
			return fmt.Errorf("record fees: %w", err)
		}
	}
	return nil
}
