package invoices

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
// PaymentLink holding what that payment last contributed. The links live in
// the invoice item itself (its "pays" map, keyed by payment ID, at most
// maxLinks entries, guarded by the item's pays_v version), so paying an
// invoice reads one item and writes one item. The invoice's amount_paid is the
// sum of its links' contributions, so a replayed or out-of-order event changes
// nothing twice. The invoice's status is derived from the totals:
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

// maxRefLen bounds the IDs a link stores, so maxLinks of them fit an item
// (docs/sizes.md); providers' IDs are far shorter.
const maxRefLen = 255

// maxReceived bounds each amount a report carries (minor units), so the sums
// of maxLinks links cannot overflow int64 (Stripe takes at most 8 digits, 12
// in a few currencies:
// https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
const maxReceived = 1_000_000_000_000_000

// check refuses a report whose IDs could not be stored within the item's
// bound, or whose amounts could overflow the invoice's totals: the provider's
// event itself is at fault (apperr.Invalid: the webhook records it as rejected
// instead of failing it forever).
func (r Received) check() error {
	if r.PaymentID == "" || len(r.PaymentID) > maxRefLen || len(r.ChargeID) > maxRefLen || len(r.Currency) > 8 {
		return apperr.New(apperr.Invalid, "payment ID (1-%d characters), charge ID (at most %d) or currency (at most 8) out of bounds", maxRefLen, maxRefLen)
	}
	if r.Amount > maxReceived || r.Refunded > maxReceived || r.Lost > maxReceived {
		return apperr.New(apperr.Invalid, "amount, refunded or lost over %d minor units", int64(maxReceived))
	}
	return nil
}

// PaymentLink is the stored contribution of one payment to one invoice: one
// entry of the invoice item's pays map (never in API answers).
type PaymentLink struct {
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
}

// Link is what paymentID has contributed to inv so far (zero when nothing).
func (inv Invoice) Link(paymentID string) PaymentLink { return inv.Pays[paymentID] }

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
	if inv.Status == StatusVoid && l.Counted > old.Counted {
		// Money arrived for an invoice nobody should pay any more: it is
		// recorded (it was received), and a person refunds or reissues.
		more := l.Counted - old.Counted
		out.Exceptions = append(out.Exceptions, exceptions.Raised{
			Key: "invoice:" + inv.ID + ":void:" + l.PaymentID, Reason: exceptions.VoidInvoicePaid, Source: "payments",
			Message: fmt.Sprintf("invoice %s is void but payment %s brought %d minor units of %s; refund the customer or reissue the invoice",
				displayID(inv), l.PaymentID, more, inv.Currency),
			Amount: more, Currency: inv.Currency, OccurredAt: at,
		})
	} else if next.AmountPaid > next.Amount && inv.AmountPaid <= inv.Amount {
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

// ApplyPayment builds the writes that record r on inv as read (its pays map
// holds the payment's previous link): one conditional update of the invoice
// item (the link, the totals and status, and the event marker of a status move)
// and any exception raised. No writes when the report changes nothing. It
// reads nothing (the invoice as read carries its links), except for an item
// written before the map, whose links are items of their own (legacyLinks).
func (s *Store) ApplyPayment(ctx context.Context, inv Invoice, r Received) ([]types.TransactWriteItem, Settlement, error) {
	if inv.PartnerID == "" || inv.CompanyID == "" {
		return nil, Settlement{}, errors.New("invoices: a stored invoice is required")
	}
	if err := r.check(); err != nil {
		return nil, Settlement{}, err
	}
	if inv.Pays == nil {
		links, err := s.legacyLinks(ctx, inv)
		if err != nil {
			return nil, Settlement{}, err
		}
		inv.Pays, inv.noMap = links, true
	}
	now := s.now()
	st := Settle(inv, inv.Link(r.PaymentID), r, now)
	if !st.Changed {
		return nil, st, nil
	}
	var tx []types.TransactWriteItem
	if _, linked := inv.Pays[r.PaymentID]; !linked && len(inv.Pays) >= maxLinks {
		// The item holds at most maxLinks payments: this one is not counted,
		// and a person settles the invoice.
		st.Invoice, st.Exceptions = inv, []exceptions.Raised{{
			Key: "invoice:" + inv.ID + ":too_many_payments", Reason: exceptions.TooManyPayments, Source: "payments",
			Message: fmt.Sprintf("invoice %s already has %d payments; payment %s was not counted toward it", displayID(inv), maxLinks, r.PaymentID),
			Amount:  r.Amount, Currency: strings.ToUpper(r.Currency), OccurredAt: now,
		}}
	} else {
		up, err := s.paymentUpdate(inv, st, r.PaymentID, now, "")
		if err != nil {
			return nil, st, err
		}
		tx = append(tx, up)
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

// Guesses ApplyUnread can make about an invoice it does not read.
const (
	// GuessUntouched: an open invoice of the payment's amount and currency,
	// no payment linked, nothing paid or processing (a card payment).
	GuessUntouched = iota
	// GuessSettling: that invoice after this very payment was reported
	// processing (for the same amount, currency and charge) and nothing else:
	// a bank debit settling.
	GuessSettling
)

// ApplyUnread is the hot path of a payment naming an invoice by its ID: the
// write ApplyPayment would build over the invoice as guess describes it,
// without reading it. Its condition is exactly that guess, so when it holds
// the invoice item ends up byte for byte as the read path would have left it;
// when it does not, the transaction is cancelled and the caller plans again
// with the read (ApplyPayment). ok is false when there is nothing to guess.
func (s *Store) ApplyUnread(partnerID, companyID, invoiceID string, r Received, guess int) (types.TransactWriteItem, bool, error) {
	if partnerID == "" || companyID == "" || invoiceID == "" {
		return types.TransactWriteItem{}, false, errors.New("invoices: an invoice is required")
	}
	if len(invoiceID) > 64 {
		// No invoice has such an ID (Get answers NotFound): nothing to guess;
		// the read path records the payment of an unknown invoice.
		return types.TransactWriteItem{}, false, nil
	}
	if err := r.check(); err != nil {
		return types.TransactWriteItem{}, false, err
	}
	cur := strings.ToUpper(r.Currency)
	assumed := Invoice{PartnerID: partnerID, CompanyID: companyID, ID: invoiceID, Amount: r.Amount, Currency: cur, Status: StatusOpen,
		Pays: map[string]PaymentLink{}} // as Create writes it
	now := s.now()
	cond := "amount = :amt AND currency = :cur AND attribute_not_exists(pays.#pid)"
	values := map[string]any{":amt": r.Amount, ":cur": cur}
	names := map[string]string{}
	if guess == GuessSettling {
		if r.State != PaymentSucceeded || r.ChargeID == "" || r.Refunded != 0 || r.Lost != 0 {
			return types.TransactWriteItem{}, false, nil
		}
		processing := r
		processing.State = PaymentProcessing
		before := Settle(assumed, PaymentLink{}, processing, now)
		assumed = before.Invoice
		assumed.Pays, assumed.PaysVersion = map[string]PaymentLink{r.PaymentID: before.Link}, 1
		// Every field of the stored link that the new one depends on.
		cond = "amount = :amt AND currency = :cur AND pays.#pid.#lstate = :lstate AND pays.#pid.#lamount = :amt AND " +
			"pays.#pid.#lcur = :cur AND pays.#pid.#lcharge = :lcharge AND pays.#pid.#lref = :zero AND pays.#pid.#llost = :zero AND " +
			"pays.#pid.#lrec = :false"
		names = map[string]string{"#lstate": "state", "#lamount": "amount", "#lcur": "currency", "#lcharge": "charge_id",
			"#lref": "refunded", "#llost": "lost", "#lrec": "reconciled"}
		values[":lstate"], values[":lcharge"], values[":zero"], values[":false"] = PaymentProcessing, r.ChargeID, 0, false
	}
	st := Settle(assumed, assumed.Link(r.PaymentID), r, now)
	if !st.Changed || len(st.Exceptions) > 0 || r.Amount <= 0 {
		return types.TransactWriteItem{}, false, nil
	}
	up, err := s.paymentUpdate(assumed, st, r.PaymentID, now, cond)
	if err != nil {
		return types.TransactWriteItem{}, false, err
	}
	extra, err := store.Values(values)
	if err != nil {
		return types.TransactWriteItem{}, false, err
	}
	maps.Copy(up.Update.ExpressionAttributeValues, extra)
	maps.Copy(up.Update.ExpressionAttributeNames, names)
	return up, true, nil
}

// paymentUpdate is the one conditional UpdateItem of the invoice item that
// records a settlement: the payment's link in the pays map, the totals and
// status when they move, and, when the status move is announced, the event
// marker (see PendingEvent). It applies only over the state inv was read in
// (pays_v, status and totals), plus cond when given.
func (s *Store) paymentUpdate(inv Invoice, st Settlement, paymentID string, now time.Time, cond string) (types.TransactWriteItem, error) {
	link, err := store.Marshal(st.Link)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	next := st.Invoice
	names := map[string]string{"#st": "status", "#pid": paymentID}
	values := map[string]any{":ost": inv.Status, ":opaid": inv.AmountPaid, ":oproc": inv.AmountProcessing, ":nv": inv.PaysVersion + 1}
	set := "SET pays.#pid = :link, pays_v = :nv"
	remove := ""
	conds := []string{"#st = :ost", "amount_paid = :opaid", "amount_processing = :oproc"}
	if inv.PaysVersion == 0 {
		conds = append(conds, "attribute_not_exists(pays_v)")
	} else {
		conds, values[":ov"] = append(conds, "pays_v = :ov"), inv.PaysVersion
	}
	if inv.AmountProcessing == 0 {
		// Invoices written before amount_processing existed have no such attribute.
		conds[2] = "(amount_processing = :oproc OR attribute_not_exists(amount_processing))"
	}
	if _, linked := inv.Pays[paymentID]; !linked && !inv.noMap {
		conds, values[":maxlinks"] = append(conds, "size(pays) < :maxlinks"), maxLinks
	}
	if inv.noMap {
		// An item without the map (written before links lived in it): an
		// update cannot set a key of a missing map, so the map is written
		// whole, with the links it had in items of their own (legacyLinks).
		set, conds = "SET pays = :link, pays_v = :nv", append(conds, "attribute_not_exists(pays)")
		whole, err := linksValue(inv.Pays)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		whole[paymentID] = &types.AttributeValueMemberM{Value: link}
		link = whole
		delete(names, "#pid")
	}
	if next.AmountPaid != inv.AmountPaid || next.AmountProcessing != inv.AmountProcessing || next.Status != inv.Status {
		set += ", #st = :st, amount_paid = :paid, amount_processing = :proc, updated_at = :now, payment_id = :npid"
		values[":st"], values[":paid"], values[":proc"], values[":now"], values[":npid"] = next.Status, next.AmountPaid, next.AmountProcessing, now, next.PaymentID
		if next.PaidAt != nil {
			set += ", paid_at = :pat"
			values[":pat"] = next.PaidAt.UTC()
		} else {
			remove = " REMOVE paid_at, reconciled_at"
		}
	}
	if typ := transitionEvent(inv.Status, next.Status); typ != "" {
		if s.IDs == nil {
			return types.TransactWriteItem{}, outbox.ErrNoIDs
		}
		id := s.IDs.ID("evt")
		gpk, gsk := outbox.PendingKeys(id)
		set += ", gsi1pk = :gpk, gsi1sk = :gsk, evt_type = :etype, evt_at = :now"
		values[":gpk"], values[":gsk"], values[":etype"], values[":now"] = gpk, gsk, typ, now
	}
	if cond != "" {
		conds = append(conds, cond)
	}
	av, err := store.Values(values)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	av[":link"] = &types.AttributeValueMemberM{Value: link}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.CompanyPK(inv.PartnerID, inv.CompanyID), SK(inv.ID)),
		UpdateExpression: aws.String(set + remove), ConditionExpression: aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeNames: names, ExpressionAttributeValues: av,
	}}, nil
}

// transitionEvent is the event a status change announces: invoice.paid on
// every move into paid (open, processing or partially_paid → paid; again after a
// refund took it back and a new payment paid it), invoice.partially_paid on
// every move into partially_paid (a first instalment, or a partial refund of a
// paid invoice). More money to an invoice already in that status, moves to
// open or processing, and paid → reconciled announce nothing. The move happens
// once (the update is conditional on the state read), so a replayed payment
// never announces it twice.
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

// legacyLinks are the payment links of an invoice item written before links
// lived in it (no pays map): then each was an item of its own,
// INVPAY#<invoice>#<payment>, with the same attributes. The first write of the
// invoice's links folds them into its map; those items are not read again.
func (s *Store) legacyLinks(ctx context.Context, inv Invoice) (map[string]PaymentLink, error) {
	links := map[string]PaymentLink{}
	err := s.DB.QueryAll(ctx, store.Query{PK: store.CompanyPK(inv.PartnerID, inv.CompanyID), SKPrefix: "INVPAY#" + inv.ID + "#",
		Limit: maxLinks}, maxLinks, func(items []map[string]types.AttributeValue) error {
		var page []PaymentLink
		if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
			return err
		}
		for _, l := range page {
			links[l.PaymentID] = l
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("legacy links of invoice %s: %w", inv.ID, err)
	}
	return links, nil
}

// linksValue is a whole pays map as DynamoDB stores it, each link marshalled
// like an item (the writes that replace the map rather than set one key).
func linksValue(links map[string]PaymentLink) (map[string]types.AttributeValue, error) {
	m := make(map[string]types.AttributeValue, len(links)+1)
	for pid, l := range links {
		lv, err := store.Marshal(l)
		if err != nil {
			return nil, err
		}
		m[pid] = &types.AttributeValueMemberM{Value: lv}
	}
	return m, nil
}

// PaymentRef names one payment of an invoice found in a payout (by payment or charge ID).
type PaymentRef struct {
	InvoiceID string
	PaymentID string
}

// maxLinks caps the payments one invoice item records (an invoice paid in more
// than this many instalments raises too_many_payments and is left for a person
// to settle). DESIGN keeps items far below 400 KB: 100 links with every ID at
// its bound are under 100 KB (TestInvoiceItemSizeAtCap), typical ones ≈ 15 KB,
// and each update is billed on the item's size.
const maxLinks = 100

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

// matchInvoice reads the invoice (its links are in it) and writes the
// payments' reconciled flags and the status in one conditional update.
func (s *Store) matchInvoice(ctx context.Context, partnerID, companyID, id string, pays map[string]bool, matched bool) error {
	inv, err := s.Get(ctx, partnerID, companyID, id)
	if err != nil {
		return err
	}
	links := maps.Clone(inv.Pays)
	if links == nil {
		// Written before the map: its links are items of their own; a change
		// of their flags writes them into the map (whole, as below).
		if links, err = s.legacyLinks(ctx, inv); err != nil {
			return err
		}
	}
	changed := false
	all := len(links) > 0
	for pid, l := range links {
		if (pays[l.PaymentID] || (l.ChargeID != "" && pays[l.ChargeID])) && l.Reconciled != matched {
			l.Reconciled, changed = matched, true
			links[pid] = l
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
	if !changed && next == inv.Status {
		return nil
	}
	values := map[string]any{":cur": inv.Status}
	var set []string
	remove := ""
	cond := "#st = :cur"
	if changed {
		set = append(set, "pays = :pays", "pays_v = :nv")
		values[":nv"] = inv.PaysVersion + 1 // :pays is added below, marshalled like an item
		if inv.PaysVersion == 0 {
			cond += " AND attribute_not_exists(pays_v)"
		} else {
			cond, values[":ov"] = cond+" AND pays_v = :ov", inv.PaysVersion
		}
	}
	if next != inv.Status {
		set = append(set, "#st = :next", "updated_at = :now")
		values[":next"], values[":now"] = next, s.now()
		if next == StatusReconciled {
			set = append(set, "reconciled_at = :now")
		} else {
			remove = " REMOVE reconciled_at"
		}
	}
	av, err := store.Values(values)
	if err != nil {
		return err
	}
	if changed {
		m, err := linksValue(links)
		if err != nil {
			return err
		}
		av[":pays"] = &types.AttributeValueMemberM{Value: m}
	}
	return s.DB.UpdateWith(ctx, &types.Update{
		TableName: aws.String(s.DB.Table), Key: store.Key(store.CompanyPK(partnerID, companyID), SK(id)),
		UpdateExpression: aws.String("SET " + strings.Join(set, ", ") + remove), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: map[string]string{"#st": "status"}, ExpressionAttributeValues: av,
	}, nil)
}
