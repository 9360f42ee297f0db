package invoices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Invoices follow the money actually received (DESIGN "Invoices follow money").
// Each payment that names an invoice is recorded once per invoice as a
// PaymentLink (INVPAY#<invoice>#<payment>) holding what that payment last
// contributed; the invoice's amount_paid is the sum of its links' contributions,
// so a replayed or out-of-order event changes nothing twice. The invoice's
// status is derived from the totals:
//
//	amount_paid >= amount due          paid (reconciled once every paying payment is in a matched payout)
//	a payment still processing (ACH)   processing
//	0 < amount_paid < amount due       partially_paid
//	nothing received                   open  (also after a failure, a full refund or a lost dispute)
//
// A payment in another currency than the invoice's changes no status and
// raises currency_mismatch; paying more than due raises overpaid. A full
// refund returns the invoice to open, not to a "refunded" status: the amount is
// owed again, and whoever decides to forgive it voids the invoice.

// Payment states as invoices see them.
const (
	PaymentProcessing = "processing"
	PaymentSucceeded  = "succeeded"
	PaymentFailed     = "failed"
)

// Received is what a provider last told about one payment of an invoice.
// Both providers (Stripe webhooks, Qualpay) call ApplyPayment with it.
type Received struct {
	PaymentID string // the payment's ID at the provider (pi_…, ch_…, Qualpay pg_id)
	ChargeID  string // the charge behind it, when different (payout items may name either)
	State     string // PaymentProcessing, PaymentSucceeded or PaymentFailed
	Amount    int64  // gross amount of the payment, minor units of Currency
	Currency  string // ISO code as the provider sent it
	Refunded  int64  // cumulative amount refunded (0 if none)
	Lost      int64  // cumulative amount lost in disputes
}

// PaymentLink is the stored contribution of one payment to one invoice.
type PaymentLink struct {
	store.Keys
	PartnerID  string `dynamodbav:"partner_id"`
	InvoiceID  string `dynamodbav:"invoice_id"`
	PaymentID  string `dynamodbav:"payment_id"`
	ChargeID   string `dynamodbav:"charge_id,omitempty"`
	State      string `dynamodbav:"state"`
	Amount     int64  `dynamodbav:"amount"`
	Currency   string `dynamodbav:"currency"`
	Refunded   int64  `dynamodbav:"refunded"`
	Lost       int64  `dynamodbav:"lost"`
	Counted    int64  `dynamodbav:"counted"`    // added to the invoice's amount_paid
	Pending    int64  `dynamodbav:"pending"`    // added to the invoice's amount_processing
	Reconciled bool   `dynamodbav:"reconciled"` // in a matched payout
	Version    int64  `dynamodbav:"version"`
}

func linkPrefix(invoiceID string) string        { return "INVPAY#" + invoiceID + "#" }
func linkSK(invoiceID, paymentID string) string { return linkPrefix(invoiceID) + paymentID }

// stateRank: a payment goes processing -> failed -> succeeded, never back. A
// failure is not final for a Stripe PaymentIntent: after a decline
// (payment_intent.payment_failed) the customer retries on the same intent and it
// can still succeed (https://docs.stripe.com/payments/paymentintents/lifecycle);
// a success means the money was received, and a failure reported after it is
// an earlier attempt's event arriving late.
func stateRank(s string) int {
	switch s {
	case PaymentProcessing:
		return 1
	case PaymentFailed:
		return 2
	case PaymentSucceeded:
		return 3
	}
	return 0
}

// merge folds a report into the stored link: states only move forward,
// refunds and dispute losses only grow (events arrive out of order).
func merge(old PaymentLink, r Received) PaymentLink {
	l := old
	l.PaymentID = r.PaymentID
	if r.ChargeID != "" {
		l.ChargeID = r.ChargeID
	}
	if stateRank(r.State) > stateRank(l.State) || l.State == "" {
		l.State = r.State
		if r.Amount > 0 {
			l.Amount = r.Amount
		}
	} else if r.State == l.State && r.Amount > 0 && l.Amount == 0 {
		l.Amount = r.Amount
	}
	l.Currency = strings.ToUpper(r.Currency)
	l.Refunded = max(l.Refunded, r.Refunded)
	l.Lost = max(l.Lost, r.Lost)
	l.Counted, l.Pending = 0, 0
	switch l.State {
	case PaymentSucceeded:
		l.Counted = max(0, l.Amount-l.Refunded-l.Lost)
	case PaymentProcessing:
		l.Pending = l.Amount
	}
	return l
}

// Derive is an invoice's status from its totals (void stays void).
func Derive(inv Invoice) string {
	switch {
	case inv.Status == StatusVoid:
		return StatusVoid
	case inv.AmountPaid >= inv.Amount:
		if inv.Status == StatusReconciled {
			return StatusReconciled
		}
		return StatusPaid
	case inv.AmountProcessing > 0:
		return StatusProcessing
	case inv.AmountPaid > 0:
		return StatusPartiallyPaid
	}
	return StatusOpen
}

// Settlement is the effect of one payment report on one invoice.
type Settlement struct {
	Invoice    Invoice // after the report
	Link       PaymentLink
	Changed    bool
	Exceptions []exceptions.Raised
}

// Settle applies a report to an invoice and its payment's previous link (zero
// if none): the pure rule, without storage.
func Settle(inv Invoice, old PaymentLink, r Received, at time.Time) Settlement {
	l := merge(old, r)
	out := Settlement{Invoice: inv, Link: l}
	if !strings.EqualFold(l.Currency, inv.Currency) {
		// Money in another currency pays nothing of this invoice.
		l.Counted, l.Pending = 0, 0
		out.Link = l
		out.Changed = l != old
		if old.Currency != l.Currency || old.PaymentID == "" {
			out.Exceptions = append(out.Exceptions, exceptions.Raised{
				Key: "invoice:" + inv.ID + ":currency:" + l.PaymentID, Reason: exceptions.CurrencyMismatch, Source: "payments",
				Message: fmt.Sprintf("payment %s is in %s but invoice %s is in %s; the invoice was not marked paid",
					l.PaymentID, l.Currency, displayID(inv), inv.Currency),
				Amount: l.Amount, Currency: l.Currency, OccurredAt: at,
			})
		}
		return out
	}
	if l == old {
		return out // a replay: nothing moves
	}
	out.Changed = true
	next := inv
	next.AmountPaid += l.Counted - old.Counted
	next.AmountProcessing += l.Pending - old.Pending
	next.Status = Derive(next)
	next.PaymentID = l.PaymentID
	if next.Status == StatusPaid && inv.Status != StatusPaid {
		t := at.UTC()
		next.PaidAt = &t
	}
	if next.AmountPaid < next.Amount {
		next.PaidAt, next.ReconciledAt = nil, nil
	}
	if next.AmountPaid > next.Amount && inv.AmountPaid <= inv.Amount {
		over := next.AmountPaid - next.Amount
		out.Exceptions = append(out.Exceptions, exceptions.Raised{
			Key: "invoice:" + inv.ID + ":overpaid", Reason: exceptions.Overpaid, Source: "payments",
			Message: fmt.Sprintf("invoice %s received %d more minor units of %s than due; refund or credit the customer",
				displayID(inv), over, inv.Currency),
			Amount: over, Currency: inv.Currency, OccurredAt: at,
		})
	}
	out.Invoice = next
	return out
}

func displayID(inv Invoice) string {
	if inv.Number != "" {
		return inv.Number + " (" + inv.ID + ")"
	}
	return inv.ID
}

// ApplyPayment reads the payment's link to inv and builds the writes that record
// r: the link (conditional on the version read), the invoice totals and status
// (conditional on the totals read, so two payments of one invoice cannot both
// apply from the same state: the loser's transaction fails and is re-planned),
// and any exception raised. No writes when the report changes nothing.
func (s *Store) ApplyPayment(ctx context.Context, inv Invoice, r Received) ([]types.TransactWriteItem, Settlement, error) {
	if r.PaymentID == "" || len(r.PaymentID) > 255 || inv.PartnerID == "" || inv.CompanyID == "" {
		return nil, Settlement{}, errors.New("invoices: a stored invoice and a payment ID are required")
	}
	old, err := s.Link(ctx, inv, r.PaymentID)
	if err != nil {
		return nil, Settlement{}, err
	}
	return s.ApplyPaymentOver(inv, old, r)
}

// Link reads what paymentID has contributed to inv so far (zero when nothing).
func (s *Store) Link(ctx context.Context, inv Invoice, paymentID string) (PaymentLink, error) {
	var old PaymentLink
	if err := s.DB.Get(ctx, store.CompanyPK(inv.PartnerID, inv.CompanyID), linkSK(inv.ID, paymentID), &old); err != nil && !errors.Is(err, store.ErrNotFound) {
		return PaymentLink{}, err
	}
	return old, nil
}

// InvoiceWithLink reads an invoice by our ID together with the payment's link
// to it in one round trip (BatchGetItem), so a webhook that pays an invoice
// reads once before its transaction. NotFound when there is no such invoice.
func (s *Store) InvoiceWithLink(ctx context.Context, partnerID, companyID, invoiceID, paymentID string) (Invoice, PaymentLink, error) {
	var inv Invoice
	var link PaymentLink
	if invoiceID == "" || len(invoiceID) > 64 || paymentID == "" || len(paymentID) > 255 {
		return inv, link, apperr.New(apperr.NotFound, "invoice not found")
	}
	pk := store.CompanyPK(partnerID, companyID)
	keys := []map[string]types.AttributeValue{store.Key(pk, SK(invoiceID)), store.Key(pk, linkSK(invoiceID, paymentID))}
	err := s.DB.BatchGet(ctx, keys, func(items []map[string]types.AttributeValue) error {
		for _, it := range items {
			sk, _ := it["sk"].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			var out any = &inv
			if sk.Value != SK(invoiceID) {
				out = &link
			}
			if err := attributevalue.UnmarshalMap(it, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Invoice{}, PaymentLink{}, err
	}
	if inv.ID == "" {
		return Invoice{}, PaymentLink{}, apperr.New(apperr.NotFound, "invoice not found")
	}
	return inv, link, nil
}

// ApplyPaymentOver is ApplyPayment with the payment's link already read (old is
// the zero PaymentLink when the payment has not touched inv yet).
func (s *Store) ApplyPaymentOver(inv Invoice, old PaymentLink, r Received) ([]types.TransactWriteItem, Settlement, error) {
	if r.PaymentID == "" || len(r.PaymentID) > 255 || inv.PartnerID == "" || inv.CompanyID == "" {
		return nil, Settlement{}, errors.New("invoices: a stored invoice and a payment ID are required")
	}
	pk := store.CompanyPK(inv.PartnerID, inv.CompanyID)
	now := s.now()
	st := Settle(inv, old, r, now)
	if !st.Changed {
		return nil, st, nil
	}
	l := st.Link
	l.PK, l.SK, l.PartnerID, l.InvoiceID = pk, linkSK(inv.ID, r.PaymentID), inv.PartnerID, inv.ID
	l.Version = old.Version + 1
	cond, vals := "attribute_not_exists(pk)", map[string]any(nil)
	if old.Version > 0 {
		cond, vals = "version = :v", map[string]any{":v": old.Version}
	}
	put, err := s.DB.PutInput(l, cond, vals)
	if err != nil {
		return nil, st, err
	}
	tx := []types.TransactWriteItem{store.TxPut(put)}
	next := st.Invoice
	if next.AmountPaid != inv.AmountPaid || next.AmountProcessing != inv.AmountProcessing || next.Status != inv.Status {
		up, err := s.totalsTx(inv, next, now)
		if err != nil {
			return nil, st, err
		}
		tx = append(tx, up)
	}
	if typ := transitionEvent(inv.Status, next.Status); typ != "" {
		obj := next
		obj.UpdatedAt = now
		ev, err := outbox.Emit(s.DB.Table, s.IDs, now, typ, inv.PartnerID, inv.CompanyID, inv.ID, obj)
		if err != nil {
			return nil, st, err
		}
		tx = append(tx, ev)
	}
	for _, x := range st.Exceptions {
		xt, err := exceptions.RaiseTx(s.DB, exceptions.Events{IDs: s.IDs, Now: s.now}, inv.PartnerID, inv.CompanyID, x)
		if err != nil {
			return nil, st, err
		}
		tx = append(tx, xt...)
	}
	return tx, st, nil
}

// transitionEvent is the event a status change announces: invoice.paid on
// every move into paid (open, processing or partially_paid → paid; again after a
// refund took it back and a new payment paid it), invoice.partially_paid on
// every move into partially_paid (a first instalment, or a partial refund of a
// paid invoice). More money to an invoice already in that status, moves to
// open or processing, and paid → reconciled announce nothing. The move happens
// once (the totals update is conditional on the status read), so a replayed
// payment never announces it twice.
func transitionEvent(from, to string) string {
	switch {
	case from == to:
		return ""
	case to == StatusPaid && from != StatusReconciled:
		return outbox.InvoicePaid
	case to == StatusPartiallyPaid:
		return outbox.InvoicePartiallyPaid
	}
	return ""
}

// totalsTx writes next's totals and status, only over the state inv was read in.
func (s *Store) totalsTx(inv, next Invoice, now time.Time) (types.TransactWriteItem, error) {
	set := "SET #st = :st, amount_paid = :paid, amount_processing = :proc, updated_at = :now, payment_id = :pid"
	remove := ""
	values := map[string]any{":st": next.Status, ":paid": next.AmountPaid, ":proc": next.AmountProcessing, ":now": now,
		":pid": next.PaymentID, ":ost": inv.Status, ":opaid": inv.AmountPaid, ":oproc": inv.AmountProcessing}
	if next.PaidAt != nil {
		set += ", paid_at = :pat"
		values[":pat"] = next.PaidAt.UTC()
	} else {
		remove = " REMOVE paid_at, reconciled_at"
	}
	av, err := store.Values(values)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	cond := "#st = :ost AND amount_paid = :opaid AND amount_processing = :oproc"
	if inv.AmountProcessing == 0 {
		// Invoices written before amount_processing existed have no such attribute.
		cond = "#st = :ost AND amount_paid = :opaid AND (amount_processing = :oproc OR attribute_not_exists(amount_processing))"
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.CompanyPK(inv.PartnerID, inv.CompanyID), SK(inv.ID)),
		UpdateExpression: aws.String(set + remove), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: map[string]string{"#st": "status"}, ExpressionAttributeValues: av,
	}}, nil
}

// PaymentRef names one payment of an invoice found in a payout (by payment or charge ID).
type PaymentRef struct {
	InvoiceID string
	PaymentID string
}

// maxLinks caps the payments read per invoice (an invoice paid in more than
// this many instalments is left for a person to reconcile).
const maxLinks = 200

// PaymentsMatched records that payments are (matched=true) or are no longer
// (false) in matched payouts, and moves their invoices: reconciled only when
// every payment that paid the invoice is in a matched payout and the invoice is
// paid; back to paid (or whatever its totals say) when one is unmatched.
func (s *Store) PaymentsMatched(ctx context.Context, partnerID, companyID string, refs []PaymentRef, matched bool) error {
	byInvoice := map[string]map[string]bool{}
	var order []string
	for _, r := range refs {
		if r.InvoiceID == "" || r.PaymentID == "" {
			continue
		}
		if byInvoice[r.InvoiceID] == nil {
			byInvoice[r.InvoiceID] = map[string]bool{}
			order = append(order, r.InvoiceID)
		}
		byInvoice[r.InvoiceID][r.PaymentID] = true
	}
	for _, id := range order {
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			if err = s.matchInvoice(ctx, partnerID, companyID, id, byInvoice[id], matched); !errors.Is(err, store.ErrConditionFailed) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("invoice %s: %w", id, err)
		}
	}
	return nil
}

func (s *Store) matchInvoice(ctx context.Context, partnerID, companyID, id string, pays map[string]bool, matched bool) error {
	inv, err := s.Get(ctx, partnerID, companyID, id)
	if err != nil {
		return err
	}
	pk := store.CompanyPK(partnerID, companyID)
	var links []PaymentLink
	if _, err := s.DB.QueryPage(ctx, store.Query{PK: pk, SKPrefix: linkPrefix(id), Limit: maxLinks}, &links); err != nil {
		return err
	}
	now := s.now()
	var tx []types.TransactWriteItem
	all := len(links) > 0
	for _, l := range links {
		if pays[l.PaymentID] || (l.ChargeID != "" && pays[l.ChargeID]) {
			if l.Reconciled != matched {
				old := l.Version
				l.Reconciled, l.Version = matched, l.Version+1
				put, err := s.DB.PutInput(l, "version = :v", map[string]any{":v": old})
				if err != nil {
					return err
				}
				tx = append(tx, store.TxPut(put))
			}
		}
		if l.Counted > 0 && !l.Reconciled {
			all = false
		}
	}
	next := inv.Status
	switch {
	case matched && all && inv.Status == StatusPaid && inv.AmountPaid >= inv.Amount:
		next = StatusReconciled
	case !matched && inv.Status == StatusReconciled:
		next = StatusPaid
	}
	if next != inv.Status {
		set := "SET #st = :next, updated_at = :now"
		values := map[string]any{":next": next, ":cur": inv.Status, ":now": now}
		if next == StatusReconciled {
			set += ", reconciled_at = :now"
		} else {
			set += " REMOVE reconciled_at"
		}
		av, err := store.Values(values)
		if err != nil {
			return err
		}
		tx = append(tx, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.DB.Table), Key: store.Key(pk, SK(id)),
			UpdateExpression: aws.String(set), ConditionExpression: aws.String("#st = :cur"),
			ExpressionAttributeNames: map[string]string{"#st": "status"}, ExpressionAttributeValues: av,
		}})
	}
	if len(tx) == 0 {
		return nil
	}
	return s.DB.Transact(ctx, tx)
}
