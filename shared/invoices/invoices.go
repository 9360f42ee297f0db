// Package invoices stores a company's invoices and moves them through
// open → processing → paid → reconciled (or void). Payments move invoices to
// processing/paid; reconciliation moves them to reconciled.
package invoices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/store"
)

// Statuses.
const (
	StatusOpen       = "open"
	StatusProcessing = "processing"
	StatusPaid       = "paid"
	// StatusPartiallyPaid: some money received, less than the amount due.
	StatusPartiallyPaid = "partially_paid"
	StatusReconciled    = "reconciled"
	StatusVoid          = "void"
)

// rank orders the forward path; void is off it.
func rank(s string) int {
	switch s {
	case StatusOpen:
		return 1
	case StatusProcessing, StatusPartiallyPaid:
		return 2
	case StatusPaid:
		return 3
	case StatusReconciled:
		return 4
	}
	return 0
}

// CanAdvance reports whether an invoice may move from cur to next: only forward
// along open → processing → paid → reconciled; void only from open.
func CanAdvance(cur, next string) bool {
	if next == StatusVoid {
		return cur == StatusOpen
	}
	return rank(cur) > 0 && rank(next) > rank(cur)
}

// Invoice is one invoice of a company.
type Invoice struct {
	store.Keys
	PartnerID  string `dynamodbav:"partner_id" json:"-"`
	CompanyID  string `dynamodbav:"company_id" json:"company_id"`
	ID         string `dynamodbav:"id" json:"id"`
	ExternalID string `dynamodbav:"external_id" json:"external_id"`
	Number     string `dynamodbav:"number,omitempty" json:"number,omitempty"`
	Customer   string `dynamodbav:"customer,omitempty" json:"customer,omitempty"`
	Amount     int64  `dynamodbav:"amount" json:"amount"` // minor units
	Currency   string `dynamodbav:"currency" json:"currency"`
	IssuedAt   string `dynamodbav:"issued_at,omitempty" json:"issued_at,omitempty"` // YYYY-MM-DD
	DueAt      string `dynamodbav:"due_at,omitempty" json:"due_at,omitempty"`
	Status     string `dynamodbav:"status" json:"status"`
	PaymentID  string `dynamodbav:"payment_id,omitempty" json:"payment_id,omitempty"`
	AmountPaid int64  `dynamodbav:"amount_paid" json:"amount_paid"`
	// AmountProcessing is what payments still in flight (ACH) will bring.
	AmountProcessing int64      `dynamodbav:"amount_processing" json:"amount_processing"`
	PaidAt           *time.Time `dynamodbav:"paid_at,omitempty" json:"paid_at,omitempty"`
	ReconciledAt     *time.Time `dynamodbav:"reconciled_at,omitempty" json:"reconciled_at,omitempty"`
	CreatedAt        time.Time  `dynamodbav:"created_at" json:"created_at"`
	UpdatedAt        time.Time  `dynamodbav:"updated_at" json:"updated_at"`
	// Pays is what each payment contributed, by payment ID (see received.go):
	// in the item so paying an invoice is one read and one write. Create
	// writes it empty (an update can only set a key of an existing map), and
	// no write ever puts a whole invoice over a stored one, so it is never lost.
	Pays map[string]PaymentLink `dynamodbav:"pays" json:"-"`
	// PaysVersion counts the writes of Pays; each is conditional on it.
	PaysVersion int64 `dynamodbav:"pays_v,omitempty" json:"-"`
	// EventType and EventAt, with the item's gsi1pk/gsi1sk, are the marker of
	// the event a status move announces, until the relay has written it (PendingEvent).
	EventType string     `dynamodbav:"evt_type,omitempty" json:"-"`
	EventAt   *time.Time `dynamodbav:"evt_at,omitempty" json:"-"`
	// noMap: the item as read has no pays map (written before it); Pays then
	// holds its links read from their own items (legacyLinks).
	noMap bool
}

type ref struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	InvoiceID string `dynamodbav:"invoice_id"`
}

// Store is the invoice store.
type Store struct {
	DB  *store.Store
	IDs *ids.Generator
	Now func() time.Time
}

const skPrefix = "INVOICE#"

// SK is an invoice's sort key.
func SK(id string) string       { return skPrefix + id }
func extSK(ext string) string   { return "INVOICEEXT#" + ext }
func numSK(num string) string   { return "INVOICENUM#" + num }
func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// Input is the body of POST /v1/companies/{id}/invoices.
type Input struct {
	ExternalID string `json:"external_id"`
	Number     string `json:"number"`
	Customer   string `json:"customer"`
	Amount     int64  `json:"amount"` // minor units (100000 = $1,000.00)
	Currency   string `json:"currency"`
	IssuedAt   string `json:"issued_at"`
	DueAt      string `json:"due_at"`
}

func normDate(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Format("2006-01-02"), true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Format("2006-01-02"), true
	}
	return "", false
}

func (in *Input) validate() error {
	bad := map[string]string{}
	in.ExternalID, in.Number, in.Customer = strings.TrimSpace(in.ExternalID), strings.TrimSpace(in.Number), strings.TrimSpace(in.Customer)
	if in.ExternalID == "" || len(in.ExternalID) > 128 {
		bad["external_id"] = "is required (1-128 characters)"
	}
	if len(in.Number) > 64 {
		bad["number"] = "must be at most 64 characters"
	}
	if len(in.Customer) > 200 {
		bad["customer"] = "must be at most 200 characters"
	}
	if in.Amount <= 0 {
		bad["amount"] = "must be a positive integer amount in minor units (e.g. 100000 for 1000.00)"
	}
	cur, err := money.NormalizeCurrency(in.Currency)
	if err != nil {
		bad["currency"] = "must be an ISO 4217 currency code"
	}
	in.Currency = cur
	var ok bool
	if in.IssuedAt, ok = normDate(in.IssuedAt); !ok {
		bad["issued_at"] = "must be a date (YYYY-MM-DD) or RFC 3339 time"
	}
	if in.DueAt, ok = normDate(in.DueAt); !ok {
		bad["due_at"] = "must be a date (YYYY-MM-DD) or RFC 3339 time"
	}
	if len(bad) > 0 {
		return apperr.FieldErrors(bad)
	}
	return nil
}

// Create stores an invoice. Creating the same external_id with the same details
// again returns the existing invoice (created=false); different details are a 409,
// and so is a number already used by another invoice of the company.
func (s *Store) Create(ctx context.Context, partnerID, companyID string, in Input) (Invoice, bool, error) {
	if err := in.validate(); err != nil {
		return Invoice{}, false, err
	}
	now := s.now()
	inv := Invoice{
		PartnerID: partnerID, CompanyID: companyID, ID: s.IDs.ID("inv"), ExternalID: in.ExternalID, Number: in.Number,
		Customer: in.Customer, Amount: in.Amount, Currency: in.Currency, IssuedAt: in.IssuedAt, DueAt: in.DueAt,
		Status: StatusOpen, CreatedAt: now, UpdatedAt: now, Pays: map[string]PaymentLink{},
	}
	pk := store.CompanyPK(partnerID, companyID)
	inv.PK, inv.SK = pk, SK(inv.ID)
	tx := []types.TransactWriteItem{}
	pi, err := s.DB.PutInput(inv, "", nil)
	if err != nil {
		return Invoice{}, false, err
	}
	tx = append(tx, store.TxPut(pi))
	refs := []string{extSK(in.ExternalID)}
	if in.Number != "" {
		refs = append(refs, numSK(in.Number))
	}
	for _, sk := range refs {
		r := ref{PartnerID: partnerID, InvoiceID: inv.ID}
		r.PK, r.SK = pk, sk
		ri, err := s.DB.PutInput(r, "attribute_not_exists(pk)", nil)
		if err != nil {
			return Invoice{}, false, err
		}
		tx = append(tx, store.TxPut(ri))
	}
	err = s.DB.Transact(ctx, tx)
	if err == nil {
		return inv, true, nil
	}
	if !errors.Is(err, store.ErrConditionFailed) {
		return Invoice{}, false, fmt.Errorf("create invoice: %w", err)
	}
	existing, gerr := s.byRef(ctx, partnerID, companyID, extSK(in.ExternalID))
	if gerr != nil {
		if apperr.Is(gerr, apperr.NotFound) {
			return Invoice{}, false, apperr.New(apperr.Conflict, "invoice number %q is already used by another invoice", in.Number)
		}
		return Invoice{}, false, gerr
	}
	if existing.Number != in.Number || existing.Amount != in.Amount || existing.Currency != in.Currency ||
		existing.Customer != in.Customer || existing.IssuedAt != in.IssuedAt || existing.DueAt != in.DueAt {
		return Invoice{}, false, apperr.New(apperr.Conflict, "an invoice with external_id %q already exists with different details", in.ExternalID)
	}
	return existing, false, nil
}

// Get returns one invoice; 404 when absent (also for other partners' IDs).
func (s *Store) Get(ctx context.Context, partnerID, companyID, id string) (Invoice, error) {
	var inv Invoice
	if id == "" || len(id) > 64 {
		return Invoice{}, apperr.New(apperr.NotFound, "invoice not found")
	}
	if err := s.DB.Get(ctx, store.CompanyPK(partnerID, companyID), SK(id), &inv); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Invoice{}, apperr.New(apperr.NotFound, "invoice not found")
		}
		return Invoice{}, err
	}
	return inv, nil
}

func (s *Store) byRef(ctx context.Context, partnerID, companyID, sk string) (Invoice, error) {
	var r ref
	if err := s.DB.Get(ctx, store.CompanyPK(partnerID, companyID), sk, &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Invoice{}, apperr.New(apperr.NotFound, "invoice not found")
		}
		return Invoice{}, err
	}
	return s.Get(ctx, partnerID, companyID, r.InvoiceID)
}

// Resolve finds the invoice a payment refers to: our ID (inv_…), the partner's
// external_id, or the invoice number. 404 when none matches.
func (s *Store) Resolve(ctx context.Context, partnerID, companyID, invoiceRef, number string) (Invoice, error) {
	if invoiceRef != "" {
		if strings.HasPrefix(invoiceRef, "inv_") {
			if inv, err := s.Get(ctx, partnerID, companyID, invoiceRef); err == nil || !apperr.Is(err, apperr.NotFound) {
				return inv, err
			}
		}
		if inv, err := s.byRef(ctx, partnerID, companyID, extSK(invoiceRef)); err == nil || !apperr.Is(err, apperr.NotFound) {
			return inv, err
		}
	}
	if number != "" {
		return s.byRef(ctx, partnerID, companyID, numSK(number))
	}
	return Invoice{}, apperr.New(apperr.NotFound, "invoice not found")
}

// Filter narrows List.
type Filter struct {
	Status   string
	Customer string
}

// List returns a page of invoices, newest first.
func (s *Store) List(ctx context.Context, partnerID, companyID string, f Filter, limit int32, cursor string) ([]Invoice, string, error) {
	q := store.Query{PK: store.CompanyPK(partnerID, companyID), SKPrefix: skPrefix, Desc: true, Limit: limit, Cursor: cursor}
	var conds []string
	if f.Status != "" {
		if rank(f.Status) == 0 && f.Status != StatusVoid {
			return nil, "", apperr.FieldErrors(map[string]string{"status": "must be one of open, processing, partially_paid, paid, reconciled, void"})
		}
		conds = append(conds, "#st = :st")
		q.Names, q.Values = map[string]string{"#st": "status"}, map[string]any{":st": f.Status}
	}
	if f.Customer != "" {
		if q.Names == nil {
			q.Names, q.Values = map[string]string{}, map[string]any{}
		}
		conds = append(conds, "#cu = :cu")
		q.Names["#cu"], q.Values[":cu"] = "customer", f.Customer
	}
	q.Filter = strings.Join(conds, " AND ")
	out := []Invoice{}
	next, err := s.DB.QueryPage(ctx, q, &out)
	return out, next, err
}

// TransitionTx builds the conditional update moving inv to next (only from the
// status it was read in, so two concurrent payments cannot both apply). ok is
// false when the move is not allowed (already further along): nothing to write.
func (s *Store) TransitionTx(inv Invoice, next, paymentID string, amountPaid int64, at time.Time) (types.TransactWriteItem, bool, error) {
	if !CanAdvance(inv.Status, next) {
		return types.TransactWriteItem{}, false, nil
	}
	set := "SET #st = :next, updated_at = :now"
	values := map[string]any{":next": next, ":cur": inv.Status, ":now": s.now()}
	if paymentID != "" {
		set += ", payment_id = :pid, amount_paid = :amt"
		values[":pid"], values[":amt"] = paymentID, amountPaid
	}
	switch next {
	case StatusPaid:
		set += ", paid_at = :at"
		values[":at"] = at.UTC()
	case StatusReconciled:
		set += ", reconciled_at = :at"
		values[":at"] = at.UTC()
	}
	av, err := store.Values(values)
	if err != nil {
		return types.TransactWriteItem{}, false, err
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.CompanyPK(inv.PartnerID, inv.CompanyID), SK(inv.ID)),
		UpdateExpression: aws.String(set), ConditionExpression: aws.String("#st = :cur"),
		ExpressionAttributeNames: map[string]string{"#st": "status"}, ExpressionAttributeValues: av,
	}}, true, nil
}

// Transition moves one invoice to next; 409 when not allowed from its status.
func (s *Store) Transition(ctx context.Context, partnerID, companyID, id, next string) (Invoice, error) {
	for attempt := 0; attempt < 3; attempt++ {
		inv, err := s.Get(ctx, partnerID, companyID, id)
		if err != nil {
			return Invoice{}, err
		}
		if inv.Status == next {
			return inv, nil
		}
		tx, ok, err := s.TransitionTx(inv, next, "", 0, s.now())
		if err != nil {
			return Invoice{}, err
		}
		if !ok {
			return Invoice{}, apperr.New(apperr.Conflict, "invoice is %s and cannot become %s", inv.Status, next)
		}
		err = s.DB.Transact(ctx, []types.TransactWriteItem{tx})
		if err == nil {
			return s.Get(ctx, partnerID, companyID, id)
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return Invoice{}, err
		}
	}
	return Invoice{}, apperr.New(apperr.Conflict, "invoice changed concurrently; retry")
}
