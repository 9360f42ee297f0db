package splits

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/store"
)

// How split money moves (Stripe "separate charges and transfers",
// https://docs.stripe.com/connect/separate-charges-and-transfers):
//
//	payer --card/ACH--> platform PaymentIntent (transfer_group = intent, metadata payrecon_intent)
//	                       | payment_intent.succeeded on the partner's platform endpoint
//	                       v
//	         one transfer per payee, the tenant's own share included,
//	         source_transaction = the charge (card) -- Stripe never lets the
//	         transfers of one charge exceed it, and never draws them from the
//	         platform's own balance; ACH-type payments transfer only after they
//	         succeeded, without source_transaction (Stripe advises against it
//	         there: a later failure would be taken from the platform balance)
//	refund / dispute  --> debited from the platform; payrecon reverses the
//	                      transfers in proportion (POST /v1/transfers/{id}/reversals)
//
// The project's own rule on top of Stripe's: the transfers of a charge never add
// up to more than its net (amount - Stripe fee). The fee is borne by the tenant's
// share, so every other payee receives exactly its computed share.

// PaymentEvent is a Stripe money event of a platform payment that pays a split
// intent (the webhook handler builds it from the verified event).
// The JSON names are its form on the splits queue (FundingMessage).
type PaymentEvent struct {
	Type          string            `json:"type"`                     // payment_intent.succeeded, charge.refunded, charge.dispute.created
	PaymentIntent string            `json:"payment_intent,omitempty"` // pi_…
	Charge        string            `json:"charge,omitempty"`         // ch_… / py_…
	Method        string            `json:"method,omitempty"`         // card, us_bank_account, …
	Amount        int64             `json:"amount,omitempty"`         // amount received
	Refunded      int64             `json:"refunded,omitempty"`       // cumulative amount refunded
	Disputed      int64             `json:"disputed,omitempty"`       // amount withdrawn by a dispute
	Currency      string            `json:"currency,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// bankDebits are the "ACH-type" payment methods: they can fail days after they
// succeed, so their shares are transferred from the platform balance once the
// payment succeeded, never with source_transaction.
var bankDebits = map[string]bool{"us_bank_account": true, "ach_debit": true, "ach_credit_transfer": true, "sepa_debit": true,
	"bacs_debit": true, "au_becs_debit": true, "acss_debit": true, "nz_bank_account": true}

// chargeRef maps a platform charge to the round it funded (refund and dispute
// events carry the charge, not our metadata).
type chargeRef struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	Intent    string `dynamodbav:"intent"`
	Payment   string `dynamodbav:"payment"`
}

func chargeSK(charge string) string { return "SPLITCHARGE#" + charge }

// PlatformPayment is the webhook hook for platform money events of split intents.
func (s *Service) PlatformPayment(ctx context.Context, partnerID string, e PaymentEvent) error {
	switch e.Type {
	case "payment_intent.succeeded":
		return s.fund(ctx, partnerID, e)
	case "charge.refunded", "charge.dispute.created":
		return s.takeBack(ctx, partnerID, e)
	}
	return nil
}

func (s *Service) fund(ctx context.Context, pid string, e PaymentEvent) error {
	intentID := e.Metadata[MetaIntent]
	if intentID == "" {
		return nil
	}
	log := s.Log.With("partner_id", pid, "payment_intent", intentID, "payment", e.PaymentIntent)
	if p := e.Metadata[MetaPartner]; p != "" && p != pid {
		log.WarnContext(ctx, "platform payment names another partner; ignored")
		return nil
	}
	if !validID(intentID) || !validID(e.PaymentIntent) || (e.Charge != "" && !validID(e.Charge)) {
		log.WarnContext(ctx, "platform payment with malformed IDs; ignored")
		return nil
	}
	if _, _, err := s.Store.Intent(ctx, pid, intentID); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			log.WarnContext(ctx, "platform payment names an unknown payment intent; ignored")
			return nil
		}
		return err
	}
	if e.Charge == "" {
		// The event is as Stripe built it (an API version before latest_charge):
		// redelivering it cannot add the charge, so it is acknowledged, not
		// retried until the dead-letter queue. The charge's own charge.succeeded
		// event (transfer_group = the intent) funds the same round.
		log.WarnContext(ctx, "platform payment event names no charge; its charge's event funds the round")
		return nil
	}
	keys, err := s.Keys.StripeKeys(ctx, pid)
	if err != nil {
		return fmt.Errorf("stripe keys: %w", err)
	}
	ch, err := s.Platform.Charge(ctx, keys.SecretKey, e.Charge)
	if err != nil {
		return fmt.Errorf("read charge %s: %w", e.Charge, err)
	}
	f := funding{charge: e.Charge, method: e.Method, fee: ch.Fee}
	if !bankDebits[e.Method] {
		f.source = e.Charge
	}
	ref := chargeRef{PartnerID: pid, Intent: intentID, Payment: e.PaymentIntent}
	ref.PK, ref.SK = store.PartnerPK(pid), chargeSK(e.Charge)
	if err := s.Store.DB.Put(ctx, ref); err != nil {
		return err
	}
	if err := s.recordAndPay(ctx, pid, "", e.PaymentIntent, e.Metadata, e.Amount, e.Currency, &f); err != nil {
		return err
	}
	// Stripe does not order deliveries (https://docs.stripe.com/webhooks#event-ordering),
	// nor does the splits queue, and a funding that fails is retried for days:
	// a dispute may have run before this round existed. It left a note
	// (noteDispute), read here after the round was written.
	var note disputeNote
	if err := s.Store.DB.Get(ctx, store.PartnerPK(pid), disputeSK(e.Charge), &note); err == nil && note.Disputed > 0 {
		if err := s.takeBack(ctx, pid, PaymentEvent{Type: "charge.dispute.created", PaymentIntent: e.PaymentIntent, Charge: e.Charge, Disputed: note.Disputed}); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Likewise a refund delivered before this success event found no round to
	// take back from. The charge as it is now, read after the transfers, says
	// what the platform already refunded.
	now, err := s.Platform.Charge(ctx, keys.SecretKey, e.Charge)
	if err != nil {
		return fmt.Errorf("read charge %s: %w", e.Charge, err)
	}
	if now.Refunded > 0 {
		return s.takeBack(ctx, pid, PaymentEvent{Type: "charge.refunded", PaymentIntent: e.PaymentIntent, Charge: e.Charge, Refunded: now.Refunded})
	}
	return nil
}

// funding is how a round's money arrived on the platform.
type funding struct {
	charge, method, source string
	fee                    int64
	tenantAccount          string
}

// tenantAccount is the tenant company's connected account (its share is transferred too).
func (s *Service) tenantAccount(ctx context.Context, pid string, in Intent) (string, error) {
	if in.Company == "" || s.Connections == nil {
		return "", apperr.New(apperr.Unprocessable, "payment intent %s names no company: the tenant's share needs its connected Stripe account", in.ID)
	}
	c, err := s.Connections.Connection(ctx, pid, in.Company, "stripe")
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return "", apperr.New(apperr.Unprocessable, "company %s has no connected Stripe account to receive its share", in.Company)
		}
		return "", err
	}
	if !c.Active() {
		// Created by onboarding and not yet able to receive money.
		return "", apperr.New(apperr.Unprocessable, "company %s's Stripe account has not finished onboarding", in.Company)
	}
	return c.AccountID, nil
}

// applyFunding turns a planned round into a funded one: the tenant's share is
// transferred as well (less the Stripe fee), every transfer names the charge,
// and the transfers may not exceed the charge's net.
func applyFunding(r *Round, f *funding, pid string, in Intent) error {
	r.Charge, r.Method, r.Fee = f.charge, f.method, f.fee
	for i := range r.Payouts {
		r.Payouts[i].SourceTransaction = f.source
	}
	tenant := r.Retained - f.fee
	var others int64
	for _, p := range r.Payouts {
		others += p.Amount
	}
	if tenant < 0 {
		return fmt.Errorf("the payees' shares (%d) exceed the charge's net (%d): the Stripe fee %d is larger than the tenant's share %d",
			others, others+r.Retained-f.fee, f.fee, r.Retained)
	}
	if tenant > 0 {
		r.Payouts = append(r.Payouts, Payout{
			Key: keySelf, Type: Self, Partnership: in.Company, Account: f.tenantAccount, Amount: tenant, Status: SplitPending,
			IdempotencyKey: idemKey(pid, in.ID, r.Payment, keySelf, 0), UpdatedAt: r.CreatedAt, SourceTransaction: f.source,
		})
	}
	return nil
}

// PaymentSucceeded is the webhook hook for payments received on a tenant's
// connected account (direct charges). A direct charge leaves the money in the
// tenant's Stripe balance, where the platform cannot fund transfers from it: a
// split intent paid that way moves no money and raises
// splits_need_platform_charge for the company to act on.
func (s *Service) PaymentSucceeded(ctx context.Context, partnerID, companyID, paymentID string, metadata map[string]string, amountReceived int64, currency string) error {
	intentID := metadata[MetaIntent]
	if intentID == "" || companyID == "" {
		return nil
	}
	if !validID(intentID) || !validID(paymentID) {
		return nil
	}
	if _, _, err := s.Store.Intent(ctx, partnerID, intentID); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil
		}
		return err
	}
	s.Log.WarnContext(ctx, "split intent paid by a direct charge; no transfers", "partner_id", partnerID, "payment_intent", intentID, "payment", paymentID)
	return exceptions.Raise(ctx, s.Store.DB, s.events(), partnerID, companyID, exceptions.Raised{
		Key: "splits:direct:" + paymentID, Reason: exceptions.SplitsNeedPlatformCharge, Source: "splits",
		Message: fmt.Sprintf("payment %s for split intent %s was charged on the company's own Stripe account (a direct charge), "+
			"so its money cannot fund the split transfers; no money was moved. Take split payments through "+
			"POST /v1/payment-intents/%s/checkout (a charge on the platform), and refund or settle this payment by hand.",
			paymentID, intentID, intentID),
		Amount: amountReceived, Currency: strings.ToUpper(currency), OccurredAt: s.now(),
	})
}

// takeBack reverses a round's transfers in proportion to what a refund or
// dispute took from the platform. Reversals Stripe refuses (the payee's
// balance is short) raise transfer_reversal_failed: nobody stays silently overpaid.
func (s *Service) takeBack(ctx context.Context, pid string, e PaymentEvent) error {
	if !validID(e.Charge) {
		return nil
	}
	err := s.takeBackFunded(ctx, pid, e)
	if !errors.Is(err, errNotFunded) {
		return err
	}
	if e.Type != "charge.dispute.created" || e.Disputed <= 0 {
		// Not a charge that funded splits, or not yet: a funding that runs
		// later reads the refund from the charge itself.
		return nil
	}
	// A dispute is not on the charge fund reads: note it, then look again. If
	// the round appeared in between, it is taken back here; otherwise the
	// funding, which reads the note after writing its round, takes it back.
	if err := s.noteDispute(ctx, pid, e); err != nil {
		return err
	}
	if err := s.takeBackFunded(ctx, pid, e); !errors.Is(err, errNotFunded) {
		return err
	}
	return nil
}

// errNotFunded: the charge funded no round (yet).
var errNotFunded = errors.New("charge funded no split round")

// disputeNote is a dispute of a platform charge that had funded no round when
// it was handled. Every platform dispute may leave one (most fund no split),
// so it expires after the funding's retries (3 days) with a wide margin.
type disputeNote struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	Disputed  int64  `dynamodbav:"disputed"`
}

func disputeSK(charge string) string { return "SPLITDISPUTE#" + charge }

const disputeNoteTTL = 30 * 24 * time.Hour

// noteDispute records e's disputed amount for the charge, keeping the larger.
func (s *Service) noteDispute(ctx context.Context, pid string, e PaymentEvent) error {
	n := disputeNote{PartnerID: pid, Disputed: e.Disputed}
	n.PK, n.SK, n.TTL = store.PartnerPK(pid), disputeSK(e.Charge), s.now().Add(disputeNoteTTL).Unix()
	err := s.Store.DB.PutIf(ctx, n, "attribute_not_exists(pk) OR disputed < :d", map[string]any{":d": e.Disputed})
	if errors.Is(err, store.ErrConditionFailed) {
		return nil // as large a dispute is noted already
	}
	return err
}

// takeBackFunded takes e back from the round its charge funded; errNotFunded
// when there is none.
func (s *Service) takeBackFunded(ctx context.Context, pid string, e PaymentEvent) error {
	var ref chargeRef
	if err := s.Store.DB.Get(ctx, store.PartnerPK(pid), chargeSK(e.Charge), &ref); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFunded
		}
		return err
	}
	for attempt := 0; attempt < retries; attempt++ {
		r, err := s.Store.Round(ctx, pid, ref.Intent, ref.Payment)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errNotFunded
			}
			return err
		}
		next := r
		switch e.Type {
		case "charge.refunded":
			next.Refunded = max(r.Refunded, e.Refunded)
		case "charge.dispute.created":
			next.Disputed = max(r.Disputed, e.Disputed)
		}
		taken := next.Refunded + next.Disputed
		if taken <= r.Refunded+r.Disputed {
			return nil // a replay, or an older event
		}
		in, _, err := s.Store.Intent(ctx, pid, ref.Intent)
		if err != nil {
			return err
		}
		if err := s.reverse(ctx, pid, in, &next, min(taken, r.Amount)); err != nil {
			return err
		}
		old := r
		r = next
		if err := s.Store.SaveRound(ctx, pid, r, old); err != nil {
			if errors.Is(err, store.ErrConditionFailed) {
				continue
			}
			return err
		}
		return nil
	}
	return errChanged
}

// reverse brings every transferred payout of the round to its proportional
// reversal of taken (cumulative, so replays reverse nothing twice).
func (s *Service) reverse(ctx context.Context, pid string, in Intent, r *Round, taken int64) error {
	var idx []int
	var weights []int64
	var paid int64
	for i, p := range r.Payouts {
		if p.Status == SplitPaid && p.TransferID != "" {
			idx, weights = append(idx, i), append(weights, p.Amount)
			paid += p.Amount
		}
	}
	if paid == 0 || r.Amount <= 0 {
		return nil
	}
	// total = floor(paid × taken / amount): never reverse more than the payees got of it.
	var t big.Int
	t.Mul(big.NewInt(paid), big.NewInt(taken))
	t.Quo(&t, big.NewInt(r.Amount))
	targets, err := money.Allocate(t.Int64(), weights)
	if err != nil {
		return err
	}
	keys, err := s.Keys.StripeKeys(ctx, pid)
	if err != nil {
		return fmt.Errorf("stripe keys: %w", err)
	}
	for j, i := range idx {
		p := &r.Payouts[i]
		delta := targets[j] - p.Reversed - p.Unrecovered
		if delta <= 0 {
			continue
		}
		// The key names where this reversal starts (what the round records as
		// reversed already), not where it ends: two deliveries handled at once
		// from the same record, or one after a crash that reversed without
		// recording, send the same key, and Stripe runs only the first; the other
		// gets idempotency_error (other parameters) and is retried once the
		// first is recorded. A key naming the target let both reverse.
		idem := fmt.Sprintf("payrecon-rev-%s-%s-%s-%s-from-%d", pid, in.ID, r.Payment, p.Key, p.Reversed+p.Unrecovered)
		id, err := s.Platform.Reverse(ctx, keys.SecretKey, p.TransferID, delta, idem,
			map[string]string{MetaPartner: pid, MetaIntent: in.ID, MetaPayout: payoutRef(r.Payment, p.Key)})
		var te *TransferError
		switch {
		case err == nil:
			p.Reversed += delta
			p.Reversals = append(p.Reversals, id)
		case errors.As(err, &te) && te.Permanent:
			p.Unrecovered += delta
			cid := in.Company
			if cid == "" {
				continue
			}
			if xerr := exceptions.Raise(ctx, s.Store.DB, s.events(), pid, cid, exceptions.Raised{
				Key: "splits:reversal:" + p.TransferID + ":" + strconv.FormatInt(targets[j], 10), Reason: exceptions.TransferReversalFailed, Source: "splits",
				Message: fmt.Sprintf("a refund or dispute of payment %s took money back from the platform, but Stripe refused to reverse %s %s of transfer %s to %s (%s): "+
					"the payee is overpaid by that much; recover it from them or reverse the transfer when their balance allows",
					r.Payment, money.Stripe.Format(delta, in.Currency), in.Currency, p.TransferID, p.Account, te.Code),
				Amount: delta, Currency: in.Currency, OccurredAt: s.now(),
			}); xerr != nil {
				return xerr
			}
		default:
			return fmt.Errorf("reverse %s: %w", p.TransferID, err)
		}
	}
	return nil
}
