// Package exceptions raises exceptions that come from money movements rather
// than from a reconciliation run (an overpaid invoice, a payment in another
// currency, a split paid by a direct charge, a transfer reversal Stripe
// refused). They are stored in the same shape and place as reconciliation's
// exceptions (reconsvc.Exception: EXC#<id>, listed open on gsi1 by date), so
// GET /v1/companies/{id}/exceptions shows them; the `source` attribute keeps a
// reconciliation run from resolving what it did not raise.
package exceptions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/store"
)

// Reasons raised here.
const (
	CurrencyMismatch         = "currency_mismatch"
	Overpaid                 = "overpaid"
	SplitsNeedPlatformCharge = "splits_need_platform_charge"
	TransferReversalFailed   = "transfer_reversal_failed"
	TransferFailed           = "transfer_failed"
)

// Raised is one exception to record. Key identifies it: raising the same key
// again overwrites it (idempotent), never duplicates it.
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

type item struct {
	store.Keys
	PartnerID string    `dynamodbav:"partner_id"`
	CompanyID string    `dynamodbav:"company_id"`
	ID        string    `dynamodbav:"id"`
	Key       string    `dynamodbav:"key"`
	Reason    string    `dynamodbav:"reason"`
	PayoutIDs []string  `dynamodbav:"payout_ids,omitempty"`
	Amount    int64     `dynamodbav:"amount"`
	Currency  string    `dynamodbav:"currency"`
	Date      string    `dynamodbav:"date"`
	Message   string    `dynamodbav:"message"`
	Status    string    `dynamodbav:"status"`
	Source    string    `dynamodbav:"source"`
	FirstSeen time.Time `dynamodbav:"first_seen"`
}

// ID is the exception ID of a key (the same hash reconciliation uses).
func ID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "exc_" + hex.EncodeToString(sum[:10])
}

// PutTx is the write of one open exception, to commit with the change that raised it.
func PutTx(db *store.Store, partnerID, companyID string, x Raised) (types.TransactWriteItem, error) {
	at := x.OccurredAt.UTC()
	it := item{PartnerID: partnerID, CompanyID: companyID, ID: ID(x.Key), Key: x.Key, Reason: x.Reason, PayoutIDs: x.PayoutIDs,
		Amount: x.Amount, Currency: x.Currency, Date: at.Format("2006-01-02"), Message: x.Message, Status: "open",
		Source: x.Source, FirstSeen: at}
	it.PK, it.SK = store.CompanyPK(partnerID, companyID), "EXC#"+it.ID
	it.GSI1PK, it.GSI1SK = it.PK+"#OPENEXC", it.Date+"#"+it.ID
	in, err := db.PutInput(it, "", nil)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return store.TxPut(in), nil
}

// Raise writes one open exception on its own (when there is no other write to
// commit it with).
func Raise(ctx context.Context, db *store.Store, partnerID, companyID string, x Raised) error {
	tx, err := PutTx(db, partnerID, companyID, x)
	if err != nil {
		return err
	}
	return db.Transact(ctx, []types.TransactWriteItem{tx})
}

// Resolve resolves the open exception of key (nothing when it is not open),
// for sources whose problem can go away, e.g. a Plaid Item repaired by its user.
func Resolve(ctx context.Context, db *store.Store, partnerID, companyID, key string, at time.Time) error {
	values, err := store.Values(map[string]any{":r": "resolved", ":o": "open", ":now": at.UTC()})
	if err != nil {
		return err
	}
	_, err = db.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(db.Table), Key: store.Key(store.CompanyPK(partnerID, companyID), "EXC#"+ID(key)),
		UpdateExpression:          aws.String("SET #st = :r, resolved_at = :now REMOVE gsi1pk, gsi1sk"),
		ConditionExpression:       aws.String("#st = :o"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("resolve exception: %w", err)
	}
	return nil
}
