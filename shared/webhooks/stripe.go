package webhooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/splits"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// DefaultTolerance is the accepted age of a Stripe signature timestamp.
const DefaultTolerance = 5 * time.Minute

// DecodeStripe decodes a verified event once, into only the fields this
// service reads. It uses go-json-experiment/json (the encoding/json/v2 that Go
// ships behind GOEXPERIMENT=jsonv2): about 2.4x faster than encoding/json on a
// 4 KiB event, and strict where v1 is lax (duplicate member names and invalid
// UTF-8 are errors, names match case-sensitively), so the bytes verified are
// read one way only. API versions are not compared: connected accounts and test
// payloads may pin other versions, and the fields read here are stable across them.
func DecodeStripe(payload []byte) (Event, error) {
	invalid := apperr.New(apperr.Invalid, "webhook body is not a valid Stripe event")
	var ev Event
	if err := jsonv2.Unmarshal(payload, &ev); err != nil {
		// The object may just not fit the fields modelled here; that is only
		// an error for the types this service handles.
		var env struct {
			ID       string `json:"id"`
			Type     string `json:"type"`
			Account  string `json:"account"`
			Created  int64  `json:"created"`
			Livemode bool   `json:"livemode"`
			Data     struct {
				Object jsontext.Value `json:"object"`
			} `json:"data"`
		}
		if jsonv2.Unmarshal(payload, &env) != nil || len(env.Data.Object) == 0 || handled(env.Type) {
			return Event{}, invalid
		}
		ev = Event{ID: env.ID, Type: env.Type, Account: env.Account, Created: env.Created, Livemode: env.Livemode, unmodelled: true}
	}
	if ev.ID == "" || ev.Type == "" {
		return Event{}, invalid
	}
	return ev, nil
}

// Endpoint is where a Stripe delivery arrived.
type Endpoint struct {
	PartnerID string // from the path; "" on the shared /stripe
	Kind      string // credentials.KindConnect or credentials.KindPlatform
}

// Reasons recorded on ignored and rejected events.
const (
	ReasonAccountNotLinked = "account_not_linked"
	ReasonLivemode         = "livemode_mismatch"
	ReasonMerchantUnlinked = "merchant_not_linked"
)

// HandleStripe processes one delivery.
//
// On the per-partner URLs (/stripe/{partner_id}/connect for Connect events,
// /stripe/{partner_id} for platform events) the partner is known from the
// path and its secrets of that endpoint kind verify the raw bytes before
// anything is parsed; then the event is decoded once. A verified event for an
// account that is not (or no longer) linked to this partner, or from the other
// mode (Stripe sends live and test events to production Connect endpoints,
// https://docs.stripe.com/connect/webhooks), is recorded as ignored and
// answered 200: Stripe retries failures for days and disables endpoints that
// keep failing.
//
// The shared /stripe stays for compatibility: there the partner can only come
// from the event's connected account, read before the signature (a read-only
// lookup); an account that was never connected cannot be attributed, so it
// gets the same uniform rejection as a bad signature.
func (s *Service) HandleStripe(ctx context.Context, ep Endpoint, body []byte, sigHeader string) (Result, error) {
	partnerID, companyID, routed := ep.PartnerID, "", false
	if partnerID == "" {
		var peek struct {
			Account string `json:"account"`
		}
		if jsonv2.Unmarshal(body, &peek) != nil || peek.Account == "" {
			return Result{}, s.refuse(ctx, "stripe", "shared URL: body names no connected account")
		}
		rt, err := s.Routes.LookupRoute(ctx, "stripe", peek.Account)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return Result{}, s.refuse(ctx, "stripe", "shared URL: unknown connected account", "account_id", peek.Account)
			}
			return Result{}, err
		}
		partnerID, companyID, routed = rt.PartnerID, rt.CompanyID, true
	}
	keys, err := s.Keys.StripeKeys(ctx, partnerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return Result{}, s.refuse(ctx, "stripe", "partner has no Stripe credentials", "partner_id", partnerID)
		}
		return Result{}, err
	}
	if err := VerifyStripeSignature(body, sigHeader, endpointSecrets(keys.WebhookSecrets, ep.Kind), s.Now(), s.Tolerance); err != nil {
		return Result{}, s.refuse(ctx, "stripe", err.Error(), "partner_id", partnerID, "endpoint", ep.Kind)
	}
	m := marker{PartnerID: partnerID, CompanyID: companyID, Provider: "stripe"}
	ev, err := DecodeStripe(body)
	if err != nil {
		// Signed by Stripe, yet never processable: record it, do not have it retried.
		m.EventID, m.Type = bodyID(body), "unparseable"
		return s.reject(ctx, m, err)
	}
	m.EventID, m.Type, m.Account, m.Created = ev.ID, ev.Type, ev.Account, ev.Created
	if ev.Livemode != stripeapi.Livemode(keys.SecretKey) {
		return s.commit(ctx, m, ignore(ReasonLivemode))
	}
	if ev.Account != "" && !routed {
		rt, err := s.Routes.LookupRoute(ctx, "stripe", ev.Account)
		switch {
		case apperr.Is(err, apperr.NotFound) || err == nil && rt.PartnerID != partnerID:
			return s.commit(ctx, m, ignore(ReasonAccountNotLinked))
		case err != nil:
			return Result{}, err
		}
		m.CompanyID, companyID = rt.CompanyID, rt.CompanyID
	}
	if ev.Type == "account.updated" && ep.Kind != credentials.KindConnect {
		// Onboarding state only counts from the Connect endpoint, where Stripe
		// sends a connected account's events (https://docs.stripe.com/connect/webhooks).
		return s.commit(ctx, m, ignore(""))
	}
	return s.commit(ctx, m, func(ctx context.Context, attempt int) (plan, error) {
		return s.planStripe(ctx, partnerID, companyID, &ev, attempt == 0)
	})
}

// endpointSecrets are the secrets that verify deliveries to an endpoint kind.
// A partner that has stored secrets of one kind only (every partner configured
// before secret sets existed) keeps being verified with them on both URLs:
// they are all the partner's own Stripe endpoints, so this widens nothing to
// another partner; once a secret of the kind exists, only that kind counts.
func endpointSecrets(set []credentials.WebhookSecret, kind string) []string {
	if own := credentials.SecretsOf(set, kind); len(own) > 0 {
		return own
	}
	out := make([]string, 0, len(set))
	for _, w := range set {
		out = append(out, w.Secret)
	}
	return out
}

// ignore is the plan of an event that is recorded and answered 200, and does nothing.
func ignore(reason string) func(context.Context, int) (plan, error) {
	return func(context.Context, int) (plan, error) { return plan{outcome: OutcomeIgnored, reason: reason}, nil }
}

// bodyID identifies a delivery with no usable event ID by its bytes.
func bodyID(body []byte) string {
	sum := sha256.Sum256(bytes.TrimSpace(body))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// handled reports whether planStripe acts on an event type.
func handled(typ string) bool {
	switch typ {
	case "payment_intent.succeeded", "payment_intent.processing", "payment_intent.payment_failed", "payment_intent.canceled",
		"charge.succeeded", "charge.failed", "charge.refunded", "charge.dispute.created", "charge.dispute.closed", "charge.dispute.updated",
		"payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled", "payout.reconciliation_completed",
		"account.application.deauthorized", "account.updated",
		"transfer.created", "transfer.updated", "transfer.reversed":
		return true
	}
	return false
}

// planStripe decides an event's effects. It reads (invoices) but never writes.
func (s *Service) planStripe(ctx context.Context, pid, cid string, ev *Event, optimistic bool) (plan, error) {
	ignored := plan{outcome: OutcomeIgnored}
	if ev.Type == "account.application.deauthorized" {
		if s.Deauth == nil || ev.Account == "" {
			return ignored, nil
		}
		acct := ev.Account
		return plan{outcome: OutcomeApplied, after: []func(context.Context) error{func(ctx context.Context) error {
			return s.Deauth.Deauthorized(ctx, acct)
		}}}, nil
	}
	if ev.Type == "account.updated" {
		obj := ev.Data.Object
		// The object is the connected account itself.
		if s.Accounts == nil || ev.Account == "" || cid == "" || obj.ID != ev.Account {
			return ignored, nil
		}
		return plan{outcome: OutcomeApplied, after: []func(context.Context) error{func(ctx context.Context) error {
			return s.Accounts.AccountUpdated(ctx, pid, cid, obj.ID, obj.ChargesEnabled, obj.DetailsSubmitted)
		}}}, nil
	}
	if strings.HasPrefix(ev.Type, "transfer.") && handled(ev.Type) {
		// Transfers are platform events (no connected account): delivered on /stripe/{partner_id}.
		obj := ev.Data.Object
		if s.Transfers == nil || ev.Account != "" || obj.ID == "" {
			return ignored, nil
		}
		return plan{outcome: OutcomeApplied, after: []func(context.Context) error{func(ctx context.Context) error {
			return s.Transfers.TransferEvent(ctx, pid, ev.Type, obj.ID, obj.Metadata, obj.Reversed)
		}}}, nil
	}
	if ev.Account == "" && cid == "" && !ev.unmodelled {
		if e, ok := splitEvent(ev); ok && s.Funding != nil {
			return plan{outcome: OutcomeApplied, after: []func(context.Context) error{func(ctx context.Context) error {
				return s.Funding.PlatformPayment(ctx, pid, e)
			}}}, nil
		}
	}
	if cid == "" || ev.unmodelled || !handled(ev.Type) { // recorded, nothing to apply
		return ignored, nil
	}
	obj := &ev.Data.Object
	if obj.ID == "" {
		return plan{}, apperr.New(apperr.Invalid, "event data does not match its type")
	}
	switch ev.Type {
	case "payment_intent.succeeded", "payment_intent.processing", "payment_intent.payment_failed", "payment_intent.canceled":
		return s.planPaymentIntent(ctx, pid, cid, ev, obj, optimistic)
	case "charge.succeeded", "charge.failed", "charge.refunded":
		return s.planCharge(ctx, pid, cid, ev, obj, optimistic)
	case "charge.dispute.created", "charge.dispute.closed", "charge.dispute.updated":
		return s.planDispute(ctx, pid, cid, ev, obj)
	case "payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled", "payout.reconciliation_completed":
		return s.planPayout(pid, cid, ev, obj)
	}
	return ignored, nil
}

// splitEvent reads a platform money event that may fund or take back split
// transfers: a succeeded PaymentIntent (or charge) naming a payrecon intent, and
// refunds and disputes of platform charges (the splits service knows which
// charges it used). Both success events of one payment fund one round.
func splitEvent(ev *Event) (splits.PaymentEvent, bool) {
	o := &ev.Data.Object
	e := splits.PaymentEvent{Type: ev.Type, Currency: strings.ToUpper(o.Currency), Metadata: o.Metadata}
	switch ev.Type {
	case "payment_intent.succeeded":
		if o.Metadata[splits.MetaIntent] == "" {
			return e, false
		}
		e.PaymentIntent, e.Charge, e.Method, e.Amount = o.ID, o.LatestCharge.ID, piMethod(o), o.AmountReceived
	case "charge.succeeded":
		// Stripe does not copy a PaymentIntent's metadata to its charge, but it
		// does copy transfer_group, which the checkout sets to the intent.
		md := map[string]string{splits.MetaIntent: firstNonEmpty(o.Metadata[splits.MetaIntent], o.TransferGroup)}
		if md[splits.MetaIntent] == "" {
			return e, false
		}
		e.Type, e.Metadata = "payment_intent.succeeded", md // the same round as the PaymentIntent's event
		e.PaymentIntent, e.Charge, e.Amount = firstNonEmpty(o.PaymentIntent.ID, o.ID), o.ID, o.Amount
		if o.PaymentMethodDetails != nil {
			e.Method = o.PaymentMethodDetails.Type
		}
	case "charge.refunded":
		e.PaymentIntent, e.Charge, e.Refunded = o.PaymentIntent.ID, o.ID, o.AmountRefunded
	case "charge.dispute.created":
		e.PaymentIntent, e.Charge, e.Disputed = o.PaymentIntent.ID, o.Charge.ID, o.Amount
	default:
		return e, false
	}
	return e, true
}

func paymentStatus(st, evType string) string {
	switch {
	case evType == "payment_intent.succeeded" || st == "succeeded":
		return payments.StatusSucceeded
	case evType == "payment_intent.canceled" || st == "canceled":
		return payments.StatusCanceled
	case evType == "payment_intent.processing" || st == "processing":
		return payments.StatusProcessing
	}
	return payments.StatusFailed
}

func invoiceRef(md map[string]string) (ref, number string) {
	return md["invoice_id"], firstNonEmpty(md["invoice_number"], md["invoice"])
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (s *Service) planPaymentIntent(ctx context.Context, pid, cid string, ev *Event, pi *object, optimistic bool) (plan, error) {
	status := paymentStatus(pi.Status, ev.Type)
	gross := pi.Amount
	if status == payments.StatusSucceeded && pi.AmountReceived > 0 {
		gross = pi.AmountReceived
	}
	c := payments.Change{
		PartnerID: pid, CompanyID: cid, ID: pi.ID, Provider: "stripe", AccountID: ev.Account, Status: status,
		ProviderUpdated: ev.Created, Gross: &gross, Currency: strings.ToUpper(pi.Currency), Method: piMethod(pi),
		Customer: pi.Customer.ID, ChargeID: pi.LatestCharge.ID,
	}
	if pi.LastPaymentError != nil {
		c.FailureCode = pi.LastPaymentError.Code
	}
	p := plan{outcome: OutcomeApplied}
	// The invoice follows the money: processing (ACH in flight), received, failed.
	r := invoices.Received{State: invoices.PaymentFailed, Amount: pi.Amount, Currency: pi.Currency}
	switch status {
	case payments.StatusSucceeded:
		r.State, r.Amount = invoices.PaymentSucceeded, gross
	case payments.StatusProcessing:
		r.State = invoices.PaymentProcessing
	}
	if ref, number := invoiceRef(pi.Metadata); optimistic && ref == "" && number == "" {
		// A PaymentIntent's metadata rides on every one of its events, so one
		// naming no invoice almost always pays none: plan without reading the
		// payment (one round trip), guarded on the payment having no invoice.
		// A payment an earlier event linked fails the guard; commit plans again
		// (attempt 1, not optimistic) with the read.
		c.NoInvoice = true
	} else if err := s.planInvoiceMaybeUnread(ctx, optimistic, &p, &c, pi.Metadata, r); err != nil {
		return plan{}, err
	}
	e, err := s.paymentEffect(c)
	if err != nil {
		return plan{}, err
	}
	p.effects = append([]effect{e}, p.effects...)
	if status == payments.StatusSucceeded && s.Hook != nil {
		md, amt, cur, id := pi.Metadata, gross, c.Currency, pi.ID
		p.after = append(p.after, func(ctx context.Context) error {
			return s.Hook.PaymentSucceeded(ctx, pid, cid, id, md, amt, cur)
		})
	}
	return p, nil
}

// planInvoice finds the invoice a payment pays (its metadata, or the invoice
// already recorded on the payment: refunds and disputes carry no metadata) and
// adds the write that records what the payment brought (invoices.ApplyPayment:
// one rule for every provider). Its condition is on the invoice as read: a
// concurrent change fails the transaction and the event is re-planned.
func (s *Service) planInvoice(ctx context.Context, p *plan, c *payments.Change, md map[string]string, r invoices.Received) error {
	r.PaymentID, r.ChargeID = c.ID, c.ChargeID
	inv, pay, ok, err := s.invoiceOf(ctx, c, md)
	if err != nil || !ok {
		return err
	}
	c.InvoiceID = inv.ID
	// Stripe does not deliver events in order
	// (https://docs.stripe.com/webhooks#event-ordering): a refund can be
	// recorded on the payment before the event that links it to this invoice.
	// What the payment already returned counts here too (refunds only grow, so
	// the larger total is the right one), else the invoice would be paid with
	// money given back. The unread hot path never gets here with such a
	// payment: a refund ranks the payment's status above succeeded, so that
	// write's guard fails and the event is planned again on this path.
	if pay == nil {
		got, err := s.Payments.Get(ctx, c.PartnerID, c.CompanyID, c.ID)
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return err
		}
		pay = &got
	}
	r.Refunded = max(r.Refunded, pay.AmountRefunded)
	txs, _, err := s.Invoices.ApplyPayment(ctx, inv, r)
	if err != nil {
		return err
	}
	for _, tx := range txs {
		p.effects = append(p.effects, effect{name: "invoice", tx: tx})
	}
	return nil
}

// planInvoiceMaybeUnread is planInvoice with a hot path, on the first attempt
// (optimistic), for a payment naming an invoice by our ID: no read, one write
// guarded on the common case (an untouched open invoice of the payment's
// amount and currency; invoices.ApplyUnread). When the guard fails, commit
// plans again (attempt 1) with the read.
func (s *Service) planInvoiceMaybeUnread(ctx context.Context, optimistic bool, p *plan, c *payments.Change, md map[string]string, r invoices.Received) error {
	if ref, _ := invoiceRef(md); optimistic && strings.HasPrefix(ref, "inv_") {
		r.PaymentID, r.ChargeID = c.ID, c.ChargeID
		guess := invoices.GuessUntouched
		if r.State == invoices.PaymentSucceeded && bankDebit(c.Method) {
			guess = invoices.GuessSettling // its processing event came first
		}
		tx, ok, err := s.Invoices.ApplyUnread(c.PartnerID, c.CompanyID, ref, r, guess)
		if err != nil || ok {
			if ok {
				c.InvoiceID = ref
				p.effects = append(p.effects, effect{name: "invoice", tx: tx, guess: true})
			}
			return err
		}
	}
	return s.planInvoice(ctx, p, c, md, r)
}

// invoiceOf finds the invoice a payment pays: its metadata's reference, else
// the invoice recorded on the payment. pay is the payment when it was read on
// the way (nil otherwise).
func (s *Service) invoiceOf(ctx context.Context, c *payments.Change, md map[string]string) (inv invoices.Invoice, pay *payments.Payment, ok bool, err error) {
	ref, number := invoiceRef(md)
	if ref == "" && number == "" {
		got, err := s.Payments.Get(ctx, c.PartnerID, c.CompanyID, c.ID)
		if err != nil || got.InvoiceID == "" {
			if err != nil && !apperr.Is(err, apperr.NotFound) {
				return invoices.Invoice{}, nil, false, err
			}
			return invoices.Invoice{}, nil, false, nil
		}
		ref, pay = got.InvoiceID, &got
	} else if strings.HasPrefix(ref, "inv_") && len(ref) <= 64 {
		// Our ID: the invoice and the payment (planInvoice needs what it
		// already returned) in one round trip. Not found by that ID, it may
		// still be the partner's own reference (Resolve, below); the payment
		// as read (zero when there is none) still serves.
		var got payments.Payment
		found, err := s.Store.GetEach(ctx, store.CompanyPK(c.PartnerID, c.CompanyID),
			[]string{invoices.SK(ref), payments.SK(c.ID)}, []any{&inv, &got})
		if err != nil {
			return invoices.Invoice{}, nil, false, err
		}
		if found[0] {
			return inv, &got, true, nil
		}
		inv, pay = invoices.Invoice{}, &got
	}
	inv, err = s.Invoices.Resolve(ctx, c.PartnerID, c.CompanyID, ref, number)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			s.Log.WarnContext(ctx, "payment names an unknown invoice", "payment_id", c.ID, "partner_id", c.PartnerID)
			return invoices.Invoice{}, nil, false, nil
		}
		return invoices.Invoice{}, nil, false, err
	}
	return inv, pay, true, nil
}

// bankDebit reports whether a payment method type is one of Stripe's bank
// debits, which confirm with a delay: processing first, succeeded days later
// (https://stripe.dev/blog/observing-immediate-versus-delayed-payments-with-stripe-workbench;
// "SEPA Direct Debit is a delayed notification payment method",
// https://stripe.com/docs/payments/sepa-debit/accept-a-payment). Only the hot
// path's guess depends on it: a wrong guess costs the read path, never a wrong result.
func bankDebit(method string) bool {
	switch method {
	case "us_bank_account", "sepa_debit", "bacs_debit", "au_becs_debit", "acss_debit", "nz_bank_account":
		return true
	}
	return false
}

func piMethod(pi *object) string {
	if pi.PaymentMethod.Type != "" {
		return pi.PaymentMethod.Type
	}
	if len(pi.PaymentMethodTypes) == 1 {
		return pi.PaymentMethodTypes[0]
	}
	return ""
}

func (s *Service) planCharge(ctx context.Context, pid, cid string, ev *Event, ch *object, optimistic bool) (plan, error) {
	id := firstNonEmpty(ch.PaymentIntent.ID, ch.ID)
	c := payments.Change{PartnerID: pid, CompanyID: cid, ID: id, Provider: "stripe", AccountID: ev.Account, ChargeID: ch.ID,
		ProviderUpdated: ev.Created, Currency: strings.ToUpper(ch.Currency), Customer: ch.Customer.ID}
	if ch.PaymentMethodDetails != nil {
		c.Method = ch.PaymentMethodDetails.Type
	}
	p := plan{outcome: OutcomeApplied}
	r := invoices.Received{State: invoices.PaymentSucceeded, Amount: ch.Amount, Currency: ch.Currency}
	switch ev.Type {
	case "charge.refunded":
		ar := ch.AmountRefunded
		c.AmountRefunded = &ar
		c.Status = payments.StatusPartiallyRefunded
		if ch.Refunded {
			c.Status = payments.StatusRefunded
		}
		r.Refunded = ar
	case "charge.failed":
		c.Status = payments.StatusFailed
		r.State = invoices.PaymentFailed
	default:
		gross := ch.Amount
		c.Gross = &gross
		c.Status = payments.StatusSucceeded
		// Events carry the balance transaction as an ID; when expanded, the fee is known now.
		if raw := ch.BalanceTransaction.Raw; raw != nil {
			var bt balanceTxn
			if err := json.Unmarshal(raw, &bt); err == nil && bt.Amount != 0 {
				c.Fee = &bt.Fee
			}
		}
	}
	if ref, number := invoiceRef(ch.Metadata); optimistic && ev.Type == "charge.succeeded" && ref == "" && number == "" {
		// Stripe sends charge.succeeded beside payment_intent.succeeded, and
		// a charge carries no invoice metadata: plan without reading the
		// payment (one round trip), guarded on it having no invoice or already
		// recording this very charge, which its invoice then already counts
		// (payments.Change.AsRecorded). Anything else fails the guard and is
		// planned again with the read.
		c.NoInvoice, c.AsRecorded = true, true
	} else if err := s.planInvoice(ctx, &p, &c, ch.Metadata, r); err != nil {
		return plan{}, err
	}
	e, err := s.paymentEffect(c)
	if err != nil {
		return plan{}, err
	}
	p.effects = append([]effect{e}, p.effects...)
	return p, nil
}

// paymentEffect is the guarded payment update; when its status turns out to be
// older than the stored one, the event's other facts still merge (fallback).
func (s *Service) paymentEffect(c payments.Change) (effect, error) {
	tx, err := s.Payments.UpsertTx(c)
	if err != nil {
		return effect{}, err
	}
	facts := c
	facts.Status, facts.FailureCode = "", ""
	ftx, err := s.Payments.UpsertTx(facts)
	if err != nil {
		return effect{}, err
	}
	return effect{name: "payment", tx: tx, staleOK: true, fallback: &ftx}, nil
}

func (s *Service) planDispute(ctx context.Context, pid, cid string, ev *Event, d *object) (plan, error) {
	id := firstNonEmpty(d.PaymentIntent.ID, d.Charge.ID)
	if id == "" {
		return plan{outcome: OutcomeIgnored}, nil
	}
	c := payments.Change{PartnerID: pid, CompanyID: cid, ID: id, Provider: "stripe", AccountID: ev.Account,
		DisputeID: d.ID, DisputeStatus: d.Status, Currency: strings.ToUpper(d.Currency), ChargeID: d.Charge.ID}
	p := plan{outcome: OutcomeApplied}
	if d.Status == "lost" {
		// A lost dispute takes the money back: the invoice is owed again.
		r := invoices.Received{State: invoices.PaymentSucceeded, Currency: d.Currency, Lost: d.Amount}
		if err := s.planInvoice(ctx, &p, &c, nil, r); err != nil {
			return plan{}, err
		}
	}
	tx, err := s.Payments.UpsertTx(c)
	if err != nil {
		return plan{}, err
	}
	p.effects = append([]effect{{name: "payment", tx: tx, staleOK: true}}, p.effects...)
	return p, nil
}

func (s *Service) planPayout(pid, cid string, ev *Event, po *object) (plan, error) {
	status := po.Status
	if payouts.Rank(status) == 0 {
		status = payouts.StatusPending
	}
	p := payouts.Payout{
		PartnerID: pid, CompanyID: cid, ID: po.ID, Provider: payouts.Stripe, AccountID: ev.Account,
		Amount: po.Amount, Currency: strings.ToUpper(po.Currency), Status: status, Automatic: po.Automatic,
		Descriptor: po.StatementDescriptor, FailureCode: po.FailureCode, ReversalID: po.FailureBalanceTxn.ID, ProviderUpdated: ev.Created,
	}
	if po.ArrivalDate > 0 {
		p.ArrivalDate = time.Unix(po.ArrivalDate, 0).UTC().Format("2006-01-02")
	}
	if po.Created > 0 {
		p.CreatedAt = time.Unix(po.Created, 0).UTC()
	}
	p.UpdatedAt = s.Now().UTC().Truncate(time.Millisecond)
	tx, err := s.Payouts.UpsertTx(p)
	if err != nil {
		return plan{}, err
	}
	out := plan{outcome: OutcomeApplied, effects: []effect{{name: "payout", tx: tx, staleOK: true}}}
	out.after = append(out.after, func(ctx context.Context) error { return s.Payouts.Changed(ctx, p) })
	// Itemise once the payout is paid; reconciliation_completed (automatic payouts)
	// says its balance transactions are final, so it re-itemises.
	if status == payouts.StatusPaid || ev.Type == "payout.reconciliation_completed" {
		job := queue.Job{Kind: queue.KindStripeItemisePayout, PartnerID: pid, CompanyID: cid, AccountID: ev.Account, ObjectID: po.ID}
		out.after = append(out.after, func(ctx context.Context) error { return s.Queue.Enqueue(ctx, job) })
	}
	return out, nil
}
