// Package exceptions stores exceptions, whoever raises them: reconciliation
// runs (reconsvc) and money movements (an overpaid invoice, a payment in another
// currency, a split paid by a direct charge, a transfer reversal Stripe
// refused, a broken bank connection). All are EXC#<id> items in the company
// partition, open ones listed on gsi1 by date, so GET
// /v1/companies/{id}/exceptions shows them; the `source` attribute keeps a
// reconciliation run from resolving what it did not raise.
//
// Opening and resolving go through OpenTx and ResolveTx, which return the
// exception's write together with its exception.opened / exception.resolved
// event (shared/outbox), so no caller can write one without the other.
package exceptions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Reasons raised by money movements.
const (
	CurrencyMismatch = "currency_mismatch"
	Overpaid         = "overpaid"
	// TooManyPayments: an invoice already records its maximum of payments.
	TooManyPayments = "too_many_payments"
	// VoidInvoicePaid: a payment brought money to a void invoice.
	VoidInvoicePaid          = "void_invoice_paid"
	SplitsNeedPlatformCharge = "splits_need_platform_charge"
	TransferReversalFailed   = "transfer_reversal_failed"
	TransferFailed           = "transfer_failed"
)

// Statuses.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
)

// Exception is a stored exception, and (its JSON) the API's view of it.
type Exception struct {
	store.Keys         `json:"-"`
	PartnerID          string     `dynamodbav:"partner_id" json:"-"`
	CompanyID          string     `dynamodbav:"company_id" json:"company_id"`
	ID                 string     `dynamodbav:"id" json:"id"`
	Key                string     `dynamodbav:"key" json:"-"`
	Reason             string     `dynamodbav:"reason" json:"reason"`
	BankTransactionIDs []string   `dynamodbav:"bank_transaction_ids,omitempty" json:"bank_transaction_ids"`
	PayoutIDs          []string   `dynamodbav:"payout_ids,omitempty" json:"payout_ids"`
	Amount             int64      `dynamodbav:"amount" json:"amount"`
	Currency           string     `dynamodbav:"currency" json:"currency"`
	Date               string     `dynamodbav:"date" json:"date"`
	Message            string     `dynamodbav:"message" json:"message"`
	Status             string     `dynamodbav:"status" json:"status"`
	FirstSeen          time.Time  `dynamodbav:"first_seen" json:"first_seen"`
	ResolvedAt         *time.Time `dynamodbav:"resolved_at,omitempty" json:"resolved_at,omitempty"`
	// Source is set on exceptions raised by money movements: a reconciliation
	// run neither raises nor resolves those.
	Source string `dynamodbav:"source,omitempty" json:"source,omitempty"`
}

// SK is an exception's sort key.
func SK(id string) string { return "EXC#" + id }

// OpenPK is the gsi1 partition listing a company's open exceptions by date.
func OpenPK(companyPK string) string { return companyPK + "#OPENEXC" }

// ID is the exception ID of a key (content-addressed: raising the same key
// again addresses the same item).
func ID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "exc_" + hex.EncodeToString(sum[:10])
}

// Opened returns x as a stored open exception: keys, ID, status, UTC times.
func Opened(partnerID, companyID string, x Exception) Exception {
	x.PartnerID, x.CompanyID, x.ID, x.Status, x.ResolvedAt = partnerID, companyID, ID(x.Key), StatusOpen, nil
	x.FirstSeen = x.FirstSeen.UTC()
	x.PK, x.SK = store.CompanyPK(partnerID, companyID), SK(x.ID)
	x.GSI1PK, x.GSI1SK = OpenPK(x.PK), x.Date+"#"+x.ID
	return x
}

// Events is what emitting needs: the event ID generator and the clock.
type Events struct {
	IDs outbox.IDs
	Now func() time.Time
}

// OpenTx is the write of open exception x (from Opened) under cond (""
// for none) and its exception.opened event, to commit in one transaction.
func OpenTx(db *store.Store, ev Events, x Exception, cond string, values map[string]any) ([]types.TransactWriteItem, error) {
	in, err := db.PutInput(x, cond, values)
	if err != nil {
		return nil, err
	}
	if strings.Contains(cond, "#st") {
		in.ExpressionAttributeNames = map[string]string{"#st": "status"}
	}
	e, err := outbox.Emit(db.Table, ev.IDs, ev.Now(), outbox.ExceptionOpened, x.PartnerID, x.CompanyID, x.ID, x)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{store.TxPut(in), e}, nil
}

// ResolveTx resolves open exception x (as read) and emits exception.resolved
// with it as it then reads; the update fails unless x is still open, so two
// resolvers never both emit.
func ResolveTx(db *store.Store, ev Events, x Exception) ([]types.TransactWriteItem, Exception, error) {
	now := ev.Now().UTC()
	values, err := store.Values(map[string]any{":r": StatusResolved, ":o": StatusOpen, ":now": now})
	if err != nil {
		return nil, x, err
	}
	x.Status, x.ResolvedAt, x.GSI1PK, x.GSI1SK = StatusResolved, &now, "", ""
	e, err := outbox.Emit(db.Table, ev.IDs, now, outbox.ExceptionResolved, x.PartnerID, x.CompanyID, x.ID, x)
	if err != nil {
		return nil, x, err
	}
	return []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(db.Table), Key: store.Key(x.PK, x.SK),
		UpdateExpression:          aws.String("SET #st = :r, resolved_at = :now REMOVE gsi1pk, gsi1sk"),
		ConditionExpression:       aws.String("#st = :o"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	}}, e}, x, nil
}

// Raised is one exception a money movement raises. Key identifies it.
type Raised struct {
	Key        string
	Reason     string
	Message    string
	Amount     int64
	Currency   string
	PayoutIDs  []string
	Source     string // "payments", "splits", "plaid"
	OccurredAt time.Time
}

func (r Raised) exception(partnerID, companyID string) Exception {
	at := r.OccurredAt.UTC()
	return Opened(partnerID, companyID, Exception{Key: r.Key, Reason: r.Reason, PayoutIDs: r.PayoutIDs, Amount: r.Amount,
		Currency: r.Currency, Date: at.Format(time.DateOnly), Message: r.Message, Source: r.Source, FirstSeen: at})
}

// RaiseTx is the write of one open exception and its event, to commit with
// the change that raised it (whose own conditions make it happen once: an
// invoice raises overpaid when its total crosses the amount due).
func RaiseTx(db *store.Store, ev Events, partnerID, companyID string, r Raised) ([]types.TransactWriteItem, error) {
	return OpenTx(db, ev, r.exception(partnerID, companyID), "", nil)
}

// Raise writes one open exception on its own (when there is no other write to
// commit it with). An exception already open is rewritten with the new facts
// but not announced again: exception.opened goes out once per opening.
func Raise(ctx context.Context, db *store.Store, ev Events, partnerID, companyID string, r Raised) error {
	x := r.exception(partnerID, companyID)
	tx, err := OpenTx(db, ev, x, "attribute_not_exists(pk) OR #st <> :o", map[string]any{":o": StatusOpen})
	if err != nil {
		return err
	}
	err = db.Transact(ctx, tx)
	if errors.Is(err, store.ErrConditionFailed) {
		err = db.Put(ctx, x) // already open: refresh it, no second event
	}
	if err != nil {
		return fmt.Errorf("raise exception: %w", err)
	}
	return nil
}

// Resolve resolves the open exception of key (nothing when it is not open),
// for sources whose problem can go away, e.g. a Plaid Item repaired by its user.
func Resolve(ctx context.Context, db *store.Store, ev Events, partnerID, companyID, key string) error {
	var x Exception
	err := db.Get(ctx, store.CompanyPK(partnerID, companyID), SK(ID(key)), &x)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resolve exception: %w", err)
	}
	if x.Status != StatusOpen {
		return nil
	}
	tx, _, err := ResolveTx(db, ev, x)
	if err != nil {
		return err
	}
	if err := db.Transact(ctx, tx); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("resolve exception: %w", err)
	}
	return nil
}
