package splits

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Payee keys: one per stored split, one for the supplier, one for the tenant.
const (
	keySupplier = "supplier"
	keySelf     = "self"
)

func splitKey(id string) string { return "split:" + id }

// entitlement is one payee's full share of the intent.
type entitlement struct {
	Key         string
	Split       string
	Type        SplitType
	Partnership string
	Amount      int64
	TaxTotal    int64
}

// entitlements lists the payees of a breakdown in a fixed order: splits by ID,
// then the supplier, then the tenant (so rounding ties are deterministic).
func entitlements(b Breakdown) []entitlement {
	bySplit := map[string]*entitlement{}
	var splits []*entitlement
	sup := &entitlement{Key: keySupplier, Type: Supplier, Partnership: b.Supplier}
	self := &entitlement{Key: keySelf, Type: Self}
	for _, it := range b.Items {
		for _, p := range it.Parts {
			switch {
			case p.Split != "":
				e := bySplit[p.Split]
				if e == nil {
					e = &entitlement{Key: splitKey(p.Split), Split: p.Split, Type: p.Type, Partnership: p.Partnership}
					bySplit[p.Split] = e
					splits = append(splits, e)
				}
				e.Amount += p.Amount
				e.TaxTotal += p.TaxTotal
			case p.Type == Supplier:
				sup.Amount += p.Amount
			case p.Type == Self:
				self.Amount += p.Amount
			}
		}
	}
	self.TaxTotal = b.SelfTaxTotal // on the total, not per item
	sort.Slice(splits, func(i, j int) bool { return splits[i].Split < splits[j].Split })
	out := make([]entitlement, 0, len(splits)+2)
	for _, e := range splits {
		out = append(out, *e)
	}
	if b.Supplier != "" {
		out = append(out, *sup)
	}
	return append(out, *self)
}

// PaymentSucceeded is the webhook hook: a Stripe payment whose metadata names one
// of the partner's intents (metadata payrecon_intent) was received. The payment
// is recorded once (a redelivery finds its round), the amounts it releases are
// computed with Payable, and each partnership's share is transferred with an
// idempotency key per payout. It returns an error while a transfer is still
// pending for a transient reason, so the delivery is retried; a retry only
// completes the recorded payouts and never pays twice.
func (s *Service) recordAndPay(ctx context.Context, partnerID, companyID, paymentID string, metadata map[string]string, amountReceived int64, currency string, f *funding) error {
	intentID := metadata[MetaIntent]
	if intentID == "" {
		return nil // not a payment for a payrecon intent
	}
	log := s.Log.With("partner_id", partnerID, "payment_intent", intentID, "payment", paymentID)
	if !validID(intentID) || !validID(paymentID) {
		log.WarnContext(ctx, "payment names a malformed intent; ignored")
		return nil
	}
	var r Round
	var in Intent
	for attempt := 0; ; attempt++ {
		if attempt == retries {
			return errChanged
		}
		cur, v, err := s.Store.Intent(ctx, partnerID, intentID)
		if apperr.Is(err, apperr.NotFound) {
			log.WarnContext(ctx, "payment names an unknown payment intent; ignored")
			return nil
		}
		if err != nil {
			return err
		}
		in = cur
		r, err = s.Store.Round(ctx, partnerID, intentID, paymentID)
		if err == nil {
			break // already recorded: only complete its payouts
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		switch {
		case in.Company != "" && companyID != "" && in.Company != companyID:
			log.WarnContext(ctx, "payment received by another company than the intent's; no payouts", "company_id", companyID)
			return nil
		case !strings.EqualFold(currency, in.Currency):
			log.WarnContext(ctx, "payment currency differs from the intent's; no payouts", "currency", currency)
			return nil
		case in.CanceledAt != nil:
			log.WarnContext(ctx, "payment for a canceled intent; no payouts")
			return nil
		case amountReceived <= 0:
			return nil
		}
		r, err = s.planRound(ctx, partnerID, in, paymentID, amountReceived)
		if err != nil {
			return err
		}
		if f != nil {
			if f.tenantAccount, err = s.tenantAccount(ctx, partnerID, in); err != nil {
				return err
			}
			if err := applyFunding(&r, f, partnerID, in); err != nil {
				// Stripe would accept it (the charge covers it), our rule does not: nothing moves.
				log.ErrorContext(ctx, "split round refused", "err", err)
				return exceptions.Raise(ctx, s.Store.DB, s.events(), partnerID, in.Company, exceptions.Raised{
					Key: "splits:net:" + paymentID, Reason: exceptions.TransferFailed, Source: "splits",
					Message: "payment " + paymentID + " was not split: " + err.Error(), Amount: amountReceived,
					Currency: in.Currency, OccurredAt: s.now()})
			}
		}
		in.Received += amountReceived
		err = s.Store.RecordRound(ctx, partnerID, in, v, r)
		if err == nil {
			log.InfoContext(ctx, "payment recorded", "amount", amountReceived, "received", in.Received, "payouts", len(r.Payouts))
			break
		}
		if !errors.Is(err, errChanged) {
			return err
		}
	}
	return s.execute(ctx, partnerID, in, r)
}

// planRound decides what a new payment releases to each payee.
func (s *Service) planRound(ctx context.Context, pid string, in Intent, paymentID string, amount int64) (Round, error) {
	b, err := s.breakdown(ctx, pid, in)
	if err != nil {
		return Round{}, err
	}
	rounds, err := s.Store.Rounds(ctx, pid, in.ID)
	if err != nil {
		return Round{}, err
	}
	ents := entitlements(b)
	committed := map[string]int64{}
	for _, old := range rounds {
		committed[keySelf] += old.Retained // the tenant's share (transferred less the fee when funded on the platform)
		for _, p := range old.Payouts {
			if p.Key == keySelf {
				continue
			}
			committed[p.Key] += p.Amount // planned, whatever its status: it is owed, not re-planned
		}
	}
	shares := make([]Share, len(ents))
	for i, e := range ents {
		shares[i] = Share{Amount: e.Amount, Paid: min(committed[e.Key], e.Amount)}
	}
	now, err := Payable(in.Received+amount, shares)
	if err != nil {
		return Round{}, err
	}
	r := Round{Intent: in.ID, Payment: paymentID, Amount: amount, ReceivedAfter: in.Received + amount, CreatedAt: s.now()}
	accounts := map[string]string{}
	for i, e := range ents {
		if now[i] == 0 {
			continue
		}
		if e.Key == keySelf {
			r.Retained = now[i]
			continue
		}
		acct, ok := accounts[e.Partnership]
		if !ok {
			p, err := s.Store.Partnership(ctx, pid, e.Partnership)
			if err != nil {
				return Round{}, fmt.Errorf("payee %s: %w", e.Key, err)
			}
			acct = p.StripeAccountID
			accounts[e.Partnership] = acct
		}
		r.Payouts = append(r.Payouts, Payout{
			Key: e.Key, Split: e.Split, Type: e.Type, Partnership: e.Partnership, Account: acct,
			Amount: now[i], Status: SplitPending, IdempotencyKey: idemKey(pid, in.ID, paymentID, e.Key, 0), UpdatedAt: r.CreatedAt,
		})
	}
	return r, nil
}

// idemKey is unique per partner, intent, payment, payee and attempt.
func idemKey(pid, intentID, paymentID, key string, attempt int) string {
	return fmt.Sprintf("payrecon-%s-%s-%s-%s-%d", pid, intentID, paymentID, key, attempt)
}

// payoutRef ties a transfer back to its payout (transfer metadata).
func payoutRef(paymentID, key string) string { return paymentID + "/" + key }

// idempotencyWindow is how long Stripe keeps idempotency keys (24 h), with a margin.
const idempotencyWindow = 23 * time.Hour

// execute transfers every pending payout of a round. Permanent refusals mark the
// payout failed; transient ones leave it pending and make execute return an error.
func (s *Service) execute(ctx context.Context, pid string, in Intent, r Round) error {
	pending := false
	for _, p := range r.Payouts {
		pending = pending || p.Status == SplitPending
	}
	if !pending {
		return nil
	}
	keys, err := s.Keys.StripeKeys(ctx, pid)
	if err != nil {
		return fmt.Errorf("stripe keys: %w", err)
	}
	var firstErr error
	for i, p := range r.Payouts {
		if p.Status != SplitPending {
			continue
		}
		ref := payoutRef(r.Payment, p.Key)
		tid := ""
		if s.now().Sub(p.UpdatedAt) > idempotencyWindow {
			// The idempotency key may have expired: adopt an earlier transfer if there is one.
			if tid, err = s.Transfers.FindTransfer(ctx, keys.SecretKey, in.ID, ref); err != nil {
				firstErr = cmp(firstErr, err)
				continue
			}
		}
		if tid == "" {
			tid, err = s.Transfers.Transfer(ctx, TransferRequest{
				SecretKey: keys.SecretKey, Amount: p.Amount, Currency: in.Currency, Destination: p.Account,
				TransferGroup: in.ID, IdempotencyKey: p.IdempotencyKey, SourceTransaction: p.SourceTransaction,
				Description: fmt.Sprintf("payrecon %s %s", in.ID, p.Key),
				Metadata:    map[string]string{MetaPartner: pid, MetaIntent: in.ID, MetaPayout: ref},
			})
		}
		next := p
		next.UpdatedAt = s.now()
		var te *TransferError
		switch {
		case err == nil:
			next.Status, next.TransferID, next.Error = SplitPaid, tid, ""
		case errors.As(err, &te) && te.Permanent:
			next.Status, next.Error = SplitFailed, te.Code+": "+te.Message
		default:
			s.Log.WarnContext(ctx, "transfer not completed; will retry", "partner_id", pid, "payment_intent", in.ID, "payout", ref, "err", err)
			firstErr = cmp(firstErr, err)
			continue
		}
		extra, err := s.failedTransferEvent(pid, in, r, next)
		if err != nil {
			firstErr = cmp(firstErr, err)
			continue
		}
		if err := s.Store.SetPayoutWith(ctx, pid, r, i, []SplitStatus{SplitPending}, next, extra); err != nil && !errors.Is(err, store.ErrConditionFailed) {
			// The transfer exists; the retry finds it through the same idempotency key.
			firstErr = cmp(firstErr, err)
			continue
		}
		if next.Status == SplitFailed {
			s.Log.WarnContext(ctx, "transfer refused", "partner_id", pid, "payment_intent", in.ID, "payout", ref, "reason", next.Error)
		}
	}
	if firstErr != nil {
		return fmt.Errorf("payouts of %s pending: %w", in.ID, firstErr)
	}
	return nil
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// RetryPayouts re-attempts an intent's payouts: failed ones get a new attempt
// (and idempotency key), pending ones are completed with their own key.
func (s *Service) RetryPayouts(ctx context.Context, pid, intentID string) (PayoutsView, error) {
	in, _, err := s.Store.Intent(ctx, pid, intentID)
	if err != nil {
		return PayoutsView{}, err
	}
	rounds, err := s.Store.Rounds(ctx, pid, intentID)
	if err != nil {
		return PayoutsView{}, err
	}
	var firstErr error
	for _, r := range rounds {
		for i, p := range r.Payouts {
			if p.Status != SplitFailed || p.TransferID != "" && takenBack(r) {
				continue // a transfer reversed after a refund or dispute is never paid again
			}
			next := p
			next.Status, next.Error, next.Attempt = SplitPending, "", p.Attempt+1
			next.IdempotencyKey = idemKey(pid, in.ID, r.Payment, p.Key, next.Attempt)
			next.UpdatedAt = s.now()
			if err := s.Store.SetPayout(ctx, pid, r, i, []SplitStatus{SplitFailed}, next); err != nil {
				if errors.Is(err, store.ErrConditionFailed) {
					continue
				}
				return PayoutsView{}, err
			}
			r.Payouts[i] = next
		}
		firstErr = cmp(firstErr, s.execute(ctx, pid, in, r))
	}
	if firstErr != nil {
		s.Log.WarnContext(ctx, "payout retry incomplete", "partner_id", pid, "payment_intent", intentID, "err", firstErr)
		return PayoutsView{}, &apperr.Error{Code: apperr.BadGateway, Message: "some transfers could not be completed yet; retry shortly", RetryAfter: 30}
	}
	return s.Payouts(ctx, pid, intentID)
}

// takenBack reports whether a refund or dispute took money of the round back
// from the platform: its transfers were reversed by payrecon (takeBack), so a
// fully reversed one is settled, not a failure to pay again.
func takenBack(r Round) bool { return r.Refunded+r.Disputed > 0 }

// TransferEvent applies a Stripe transfer.* event (platform events, delivered on
// /stripe/{partner_id}) to the payout named in the transfer's metadata: a created
// or updated transfer completes a payout still pending (the status write was lost
// after the transfer succeeded); a fully reversed one marks it failed. Events for
// transfers payrecon did not make, or another partner's, are ignored.
func (s *Service) TransferEvent(ctx context.Context, partnerID, eventType, transferID string, metadata map[string]string, reversed bool) error {
	if metadata[MetaPartner] != partnerID {
		return nil
	}
	intentID := metadata[MetaIntent]
	payment, key, ok := strings.Cut(metadata[MetaPayout], "/")
	if !ok || !validID(intentID) || !validID(payment) {
		return nil
	}
	r, err := s.Store.Round(ctx, partnerID, intentID, payment)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for i, p := range r.Payouts {
		if p.Key != key {
			continue
		}
		next := p
		next.UpdatedAt = s.now()
		var from []SplitStatus
		switch {
		case eventType == "transfer.reversed" && reversed && takenBack(r):
			return nil // payrecon's own reversal for a refund or dispute: the round records it
		case eventType == "transfer.reversed" && reversed:
			next.Status, next.Error, next.TransferID = SplitFailed, "transfer "+transferID+" was reversed", transferID
			from = []SplitStatus{SplitPending, SplitPaid}
		case (eventType == "transfer.created" || eventType == "transfer.updated") && p.Status == SplitPending:
			next.Status, next.TransferID, next.Error = SplitPaid, transferID, ""
			from = []SplitStatus{SplitPending}
		default:
			return nil
		}
		var extra []types.TransactWriteItem
		if next.Status == SplitFailed {
			in, _, err := s.Store.Intent(ctx, partnerID, intentID) // the company (a rare event: a reversal)
			if err != nil {
				return err
			}
			if extra, err = s.failedTransferEvent(partnerID, in, r, next); err != nil {
				return err
			}
		}
		if err := s.Store.SetPayoutWith(ctx, partnerID, r, i, from, next, extra); err != nil && !errors.Is(err, store.ErrConditionFailed) {
			return err
		}
		return nil
	}
	return nil
}

// FailedTransfer is split.transfer.failed's object: the transfer as GET
// /v1/payment-intents/{id}/payouts lists it under its payee (TransferView),
// with the intent and the payee it belongs to.
type FailedTransfer struct {
	PaymentIntent   string    `json:"payment_intent"`
	Payee           string    `json:"payee"` // the payee's key in the payouts view
	Split           string    `json:"split,omitempty"`
	Partnership     string    `json:"partnership"`
	StripeAccountID string    `json:"stripe_account_id,omitempty"`
	Currency        string    `json:"currency"`
	FailedAt        time.Time `json:"failed_at"`
	TransferView
}

// failedTransferEvent is the split.transfer.failed event of payout p of round
// r moving to failed (nothing for any other move), committed with the move.
func (s *Service) failedTransferEvent(pid string, in Intent, r Round, p Payout) ([]types.TransactWriteItem, error) {
	if p.Status != SplitFailed {
		return nil, nil
	}
	obj := FailedTransfer{
		PaymentIntent: in.ID, Payee: p.Key, Split: p.Split, Partnership: p.Partnership, StripeAccountID: p.Account,
		Currency: in.Currency, FailedAt: p.UpdatedAt.UTC(),
		TransferView: TransferView{Payment: r.Payment, Amount: p.Amount, Status: p.Status, Attempt: p.Attempt, TransferID: p.TransferID, Error: p.Error},
	}
	ev, err := outbox.Emit(s.Store.DB.Table, s.IDs, s.now(), outbox.SplitTransferFailed, pid, in.Company, in.ID, obj)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{ev}, nil
}

// TransferView is one transfer (or planned transfer) of a payee.
type TransferView struct {
	Payment    string      `json:"payment"`
	Amount     int64       `json:"amount"`
	Status     SplitStatus `json:"status"`
	Attempt    int         `json:"attempt"`
	TransferID string      `json:"transfer_id,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// PayeeView is who gets what of an intent, and how much of it has moved.
type PayeeView struct {
	Key             string         `json:"key"`
	Type            SplitType      `json:"type"`
	Split           string         `json:"split,omitempty"`
	Partnership     string         `json:"partnership"`
	StripeAccountID string         `json:"stripe_account_id,omitempty"`
	Amount          int64          `json:"amount"` // full entitlement
	TaxTotal        int64          `json:"tax_total"`
	Paid            int64          `json:"amount_paid"`
	Pending         int64          `json:"amount_pending"`
	Failed          int64          `json:"amount_failed"`
	Status          SplitStatus    `json:"status"`
	Transfers       []TransferView `json:"transfers"`
}

// TenantView is the tenant's remainder.
type TenantView struct {
	Amount   int64 `json:"amount"`    // full remainder (self)
	TaxTotal int64 `json:"tax_total"` // the intent's tax on it; a kept share's tax is on its keep-percentage split
	Received int64 `json:"amount_received"`
	// Platform charges: what was transferred to the tenant's account, and the
	// Stripe fees its share bore (Received = Transferred + StripeFees once paid).
	Transferred int64 `json:"amount_transferred"`
	StripeFees  int64 `json:"stripe_fees"`
}

// PayoutsView answers GET /v1/payment-intents/{id}/payouts.
type PayoutsView struct {
	PaymentIntent  string       `json:"payment_intent"`
	Currency       string       `json:"currency"`
	Amount         int64        `json:"amount"`
	AmountReceived int64        `json:"amount_received"`
	Status         IntentStatus `json:"status"`
	TaxTotal       int64        `json:"tax_total"`
	Tenant         TenantView   `json:"tenant"`
	Payees         []PayeeView  `json:"payees"`
	Breakdown      Breakdown    `json:"breakdown"`
}

// summarize folds the rounds into per-payee totals and statuses.
func summarize(in Intent, b Breakdown, rounds []Round) map[string]*PayeeView {
	out := map[string]*PayeeView{}
	full := in.Received >= in.Amount() && in.Amount() > 0
	for _, e := range entitlements(b) {
		if e.Key == keySelf {
			continue
		}
		out[e.Key] = &PayeeView{Key: e.Key, Type: e.Type, Split: e.Split, Partnership: e.Partnership, Amount: e.Amount, TaxTotal: e.TaxTotal, Transfers: []TransferView{}}
	}
	for _, r := range rounds {
		for _, p := range r.Payouts {
			if p.Key == keySelf {
				continue // the tenant's own transfer is shown on TenantView
			}
			v := out[p.Key]
			if v == nil { // a payee that no longer exists cannot happen once paid (splits freeze); keep it visible anyway
				v = &PayeeView{Key: p.Key, Type: p.Type, Split: p.Split, Partnership: p.Partnership, Transfers: []TransferView{}}
				out[p.Key] = v
			}
			v.StripeAccountID = p.Account
			v.Transfers = append(v.Transfers, TransferView{Payment: r.Payment, Amount: p.Amount, Status: p.Status, Attempt: p.Attempt, TransferID: p.TransferID, Error: p.Error})
			switch p.Status {
			case SplitPaid:
				v.Paid += p.Amount
			case SplitFailed:
				v.Failed += p.Amount
			default:
				v.Pending += p.Amount
			}
		}
	}
	for _, v := range out {
		switch {
		case v.Failed > 0:
			v.Status = SplitFailed
		case v.Paid >= v.Amount && (v.Amount > 0 || full):
			v.Status = SplitPaid
		default:
			v.Status = SplitPending
		}
	}
	return out
}

// Payouts shows who gets what, tax totals, the tenant's remainder and status.
func (s *Service) Payouts(ctx context.Context, pid, intentID string) (PayoutsView, error) {
	in, _, err := s.Store.Intent(ctx, pid, intentID)
	if err != nil {
		return PayoutsView{}, err
	}
	sp, err := s.Store.Splits(ctx, pid, intentID)
	if err != nil {
		return PayoutsView{}, err
	}
	taxes, err := s.taxesFor(ctx, pid, in, sp)
	if err != nil {
		return PayoutsView{}, err
	}
	b, err := Compute(in, sp, taxes)
	if err != nil {
		return PayoutsView{}, fmt.Errorf("intent %s no longer computes: %w", intentID, err)
	}
	rounds, err := s.Store.Rounds(ctx, pid, intentID)
	if err != nil {
		return PayoutsView{}, err
	}
	v := PayoutsView{
		PaymentIntent: in.ID, Currency: in.Currency, Amount: in.Amount(), AmountReceived: in.Received,
		Status: in.StatusAt(s.now()), TaxTotal: b.TaxTotal, Breakdown: b, Payees: []PayeeView{},
	}
	v.Tenant = TenantView{Amount: b.Self, TaxTotal: b.SelfTaxTotal}
	for _, r := range rounds {
		v.Tenant.Received += r.Retained
		v.Tenant.StripeFees += r.Fee
		for _, p := range r.Payouts {
			if p.Key == keySelf && p.Status == SplitPaid {
				v.Tenant.Transferred += p.Amount
			}
		}
	}
	sum := summarize(in, b, rounds)
	for _, e := range entitlements(b) {
		if pv, ok := sum[e.Key]; ok {
			v.Payees = append(v.Payees, *pv)
			delete(sum, e.Key)
		}
	}
	var rest []PayeeView
	for _, pv := range sum {
		rest = append(rest, *pv)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Key < rest[j].Key })
	v.Payees = append(v.Payees, rest...)
	return v, nil
}
