// Package webhooks receives Stripe and Qualpay webhooks: it verifies each
// delivery on the raw bytes before anything is written, deduplicates by event
// ID with a conditional write that commits in the same transaction as the
// event's effects (payments, invoices, payouts), and queues the heavy work
// (payout itemisation, Qualpay deposit pulls) for the Worker.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/splits"
	"github.com/payrecon/payrecon/shared/store"
)

// PaymentHook is told about each succeeded payment intent once (the splits
// engineer registers one to pay out splits). It must be idempotent: when it
// fails the delivery is answered 500 and Stripe's retry calls it again.
type PaymentHook interface {
	PaymentSucceeded(ctx context.Context, partnerID, companyID, paymentIntentID string, metadata map[string]string, amountReceived int64, currency string) error
}

// SplitFunding is told about the money events of platform payments (separate
// charges and transfers): a payment that succeeded funds the split transfers;
// a refund or dispute reverses them in proportion. It must be idempotent.
type SplitFunding interface {
	PlatformPayment(ctx context.Context, partnerID string, e splits.PaymentEvent) error
}

// TransferHook is told about transfer.* platform events (the splits service
// settles the payouts it made). It must be idempotent.
type TransferHook interface {
	TransferEvent(ctx context.Context, partnerID, eventType, transferID string, metadata map[string]string, reversed bool) error
}

// Deauthorizer is told when a connected account removes the partner's platform
// (account.application.deauthorized).
type Deauthorizer interface {
	Deauthorized(ctx context.Context, accountID string) error
}

// AccountEvents is told of a verified account.updated from a partner's
// Connect endpoint (onboarding activates a pending connection). Idempotent.
type AccountEvents interface {
	AccountUpdated(ctx context.Context, partnerID, companyID, accountID string, chargesEnabled, detailsSubmitted bool) error
}

// RouteLookup finds the partner and company of a provider account (read-only).
type RouteLookup interface {
	LookupRoute(ctx context.Context, provider, accountID string) (companies.Route, error)
}

// Keys returns a partner's provider credentials.
type Keys interface {
	StripeKeys(ctx context.Context, partnerID string) (credentials.StripeCredentials, error)
	QualpayKeys(ctx context.Context, partnerID string) (credentials.QualpayCredentials, error)
}

// Service handles deliveries.
type Service struct {
	Store    *store.Store
	Routes   RouteLookup
	Keys     Keys
	Invoices *invoices.Store
	Payments *payments.Store
	Payouts  *payouts.Store
	Queue    queue.Enqueuer
	Hook     PaymentHook  // optional
	Deauth   Deauthorizer // optional
	// Accounts receives account.updated of connected accounts (optional).
	Accounts AccountEvents
	// Transfers receives transfer.* platform events (optional).
	Transfers TransferHook
	// Funding receives platform payment events of split intents (optional).
	Funding SplitFunding
	Now     func() time.Time
	Log     *slog.Logger
	// Tolerance is the signature timestamp window (default 5 minutes).
	Tolerance time.Duration
}

// Outcomes recorded on the event marker.
const (
	OutcomeApplied = "applied"
	OutcomeIgnored = "ignored" // unknown type, or nothing to do
	OutcomeStale   = "stale"   // older than the state already recorded
	// OutcomeRejected: signed by the provider but never processable (an ID
	// over the key size, a field breaking our limits). Recorded with the
	// reason, listed for the partner, answered 200 so it is not retried forever.
	OutcomeRejected = "rejected"
)

// Result is the webhook's answer.
type Result struct {
	Received  bool   `json:"received"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
}

// eventTTL keeps dedupe markers well past the providers' retry windows (Stripe: 3 days).
const eventTTL = 90 * 24 * time.Hour

// marker is the dedupe record of one delivery: EVENT#<provider>#<partner>#<id>.
type marker struct {
	store.Keys
	PartnerID  string    `dynamodbav:"partner_id"`
	CompanyID  string    `dynamodbav:"company_id,omitempty"`
	Provider   string    `dynamodbav:"provider"`
	EventID    string    `dynamodbav:"event_id"`
	Type       string    `dynamodbav:"type"`
	Account    string    `dynamodbav:"account_id,omitempty"`
	Outcome    string    `dynamodbav:"outcome"`
	Reason     string    `dynamodbav:"reason,omitempty"`
	Created    int64     `dynamodbav:"provider_created,omitempty"`
	ReceivedAt time.Time `dynamodbav:"received_at"`
}

// EventPK is the dedupe key of an event.
func EventPK(provider, partnerID, eventID string) string {
	return "EVENT#" + provider + "#" + partnerID + "#" + eventID
}

// effect is one conditional write of an event. Stale effects (an out-of-order
// guard failed) are dropped and the event is recorded without them; conflicting
// ones (an invoice changed under us) make the whole plan be rebuilt.
type effect struct {
	name    string
	tx      types.TransactWriteItem
	staleOK bool
	// fallback, when set, replaces a stale effect instead of dropping it (a
	// payment's facts merge even when its status is older than the stored one).
	fallback *types.TransactWriteItem
	// guess marks a write planned without reading its item, on a condition
	// that encodes the common case: when it fails, the next attempt plans
	// with the read, at once (no concurrent writer to wait for).
	guess bool
}

// plan is what one event does: effects, then after-commit actions (enqueue, hooks).
type plan struct {
	outcome string
	reason  string // why it was ignored (recorded on the marker)
	effects []effect
	after   []func(ctx context.Context) error
}

// commit writes the marker and the effects in one transaction (one DynamoDB
// write on the common path). It returns duplicate=true when the marker exists.
// replan builds the plan; attempt > 0 means an earlier plan hit a condition
// (a concurrent change, or an optimistic guess that did not hold).
func (s *Service) commit(ctx context.Context, m marker, replan func(ctx context.Context, attempt int) (plan, error)) (Result, error) {
	if len(m.EventID) > maxEventID {
		m.EventID = bodyID([]byte(m.EventID))
		return s.reject(ctx, m, apperr.New(apperr.Invalid, "event id is longer than %d characters", maxEventID))
	}
	s.stamp(&m)
	res := Result{Received: true, EventID: m.EventID}
	dropped := map[string]int{} // effect -> stale hits: 1 = use its fallback, 2 = drop it
	hostRetried := 0            // condition failures of the dedupe host that were not duplicates
	guessMissed := false        // the last attempt failed only on a guessed effect
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 && !guessMissed {
			time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
		}
		guessMissed = false
		p, err := replan(ctx, attempt)
		if err != nil {
			if permanent(err) {
				return s.reject(ctx, m, err)
			}
			return Result{}, err
		}
		kept := make([]effect, 0, len(p.effects))
		for _, e := range p.effects {
			if n := dropped[e.name]; n > 0 {
				if e.fallback == nil || n > 1 {
					continue
				}
				e.tx = *e.fallback
			}
			kept = append(kept, e)
		}
		m.Outcome, m.Reason = p.outcome, p.reason
		if len(dropped) > 0 {
			m.Outcome = OutcomeStale
		}
		mi, err := s.Store.PutInput(m, "attribute_not_exists(pk)", nil)
		if err != nil {
			return Result{}, err
		}
		// The dedupe record is folded into the event's payment item when it has
		// one (see dedupeHost), else it is the marker item.
		host := dedupeHost(kept)
		items, offset := []types.TransactWriteItem{store.TxPut(mi)}, 1
		if host >= 0 {
			items, offset = items[:0], 0
		}
		for i, e := range kept {
			if i == host {
				e.tx = withDedupe(e.tx, m.EventID)
			}
			items = append(items, e.tx)
		}
		var err2 error
		if host < 0 && len(items) == 1 {
			_, err2 = s.Store.DB.PutItem(ctx, mi)
		} else {
			_, err2 = s.Store.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		}
		if err2 == nil {
			res.Outcome = m.Outcome
			forget := func(ctx context.Context) error { return s.Store.Delete(ctx, m.PK, m.SK) }
			if host >= 0 {
				forget = func(ctx context.Context) error { return s.forgetEvent(ctx, kept[host].tx, m.EventID) }
			}
			if err := s.runAfter(ctx, m, forget, p.after); err != nil {
				return Result{}, err
			}
			return res, nil
		}
		failed, conflict, ok := conditionFailures(err2)
		if conflict {
			continue // another transaction touched the same items: try again
		}
		if !ok {
			return Result{}, fmt.Errorf("record %s event %s: %w", m.Provider, m.EventID, err2)
		}
		// Answer "duplicate" (2xx: the provider stops retrying) only when the
		// event is really recorded; otherwise a misread failure would lose it.
		switch {
		case host < 0 && failed[0]:
			var seen struct{}
			if err := s.Store.Get(ctx, m.PK, m.SK, &seen); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return Result{}, fmt.Errorf("confirm %s event %s is a duplicate: %w", m.Provider, m.EventID, err)
			}
			res.Duplicate, res.Outcome = true, "duplicate"
			return res, nil
		case host >= 0 && failed[host]:
			seen, err := s.eventIn(ctx, kept[host].tx, m.EventID)
			if err != nil {
				return Result{}, fmt.Errorf("confirm %s event %s is a duplicate: %w", m.Provider, m.EventID, err)
			}
			if seen {
				res.Duplicate, res.Outcome = true, "duplicate"
				return res, nil
			}
			// The payment's own guard failed, or a concurrent writer changed the
			// item between plan and write: plan again once before calling the
			// event stale, as the marker path does. A really older event fails
			// its guard again and is dropped on the next pass.
			if hostRetried++; hostRetried == 1 {
				continue
			}
		}
		for i, e := range kept {
			if failed[i+offset] && e.staleOK {
				dropped[e.name]++
			}
			if failed[i+offset] && e.guess {
				guessMissed = true
			}
		}
	}
	return Result{}, &apperr.Error{Code: apperr.Unavailable, Message: "event is being processed concurrently; retry", RetryAfter: 1}
}

// maxEventID bounds an event ID used in a key (DynamoDB keys allow 2 KB; no
// provider documents IDs anywhere near this).
const maxEventID = 255

func (s *Service) stamp(m *marker) {
	m.PK, m.SK = EventPK(m.Provider, m.PartnerID, m.EventID), "EVENT"
	m.ReceivedAt = s.Now().UTC().Truncate(time.Millisecond)
	m.TTL = m.ReceivedAt.Add(eventTTL).Unix()
}

// permanent reports whether a planning error can never go away on a retry:
// the signed event itself breaks a rule (client errors), as opposed to an
// outage or a concurrent change.
func permanent(err error) bool {
	return apperr.Is(err, apperr.Invalid) || apperr.Is(err, apperr.Unprocessable)
}

// reject records a signed event that can never be processed: its marker with
// outcome "rejected" and the reason, and in the same transaction a rejection
// the partner can list (GET /v1/integrations/{provider}/webhook-rejections).
// The answer is 200: a provider retrying it would only fail again, and Stripe
// and Qualpay disable endpoints that keep failing.
func (s *Service) reject(ctx context.Context, m marker, why error) (Result, error) {
	reason := why.Error()
	if e, ok := apperr.As(why); ok {
		reason = e.Message
	}
	s.stamp(&m)
	m.Outcome, m.Reason = OutcomeRejected, reason
	s.Log.WarnContext(ctx, "webhook event rejected", "provider", m.Provider, "partner_id", m.PartnerID, "event_id", m.EventID, "type", m.Type, "reason", reason)
	mi, err := s.Store.PutInput(m, "attribute_not_exists(pk)", nil)
	if err != nil {
		return Result{}, err
	}
	r := credentials.Rejection{PartnerID: m.PartnerID, Provider: m.Provider, EventID: m.EventID, Type: m.Type,
		AccountID: m.Account, CompanyID: m.CompanyID, Reason: reason, ReceivedAt: m.ReceivedAt}
	r.PK, r.SK, r.TTL = store.PartnerPK(m.PartnerID), credentials.RejectionSK(m.Provider, m.ReceivedAt, m.EventID), m.TTL
	ri, err := s.Store.PutInput(r, "", nil)
	if err != nil {
		return Result{}, err
	}
	res := Result{Received: true, EventID: m.EventID, Outcome: OutcomeRejected}
	_, err = s.Store.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{store.TxPut(mi), store.TxPut(ri)}})
	if failed, _, _ := conditionFailures(err); err != nil && failed[0] {
		res.Duplicate, res.Outcome = true, "duplicate"
		return res, nil
	} else if err != nil {
		return Result{}, fmt.Errorf("record rejected %s event: %w", m.Provider, err)
	}
	return res, nil
}

// runAfter runs post-commit actions. If one fails, the event's dedupe record
// is removed (forget) so the provider's retry runs the event again (its effects
// are idempotent).
func (s *Service) runAfter(ctx context.Context, m marker, forget func(context.Context) error, after []func(context.Context) error) error {
	for _, fn := range after {
		if err := fn(ctx); err != nil {
			if derr := forget(context.WithoutCancel(ctx)); derr != nil {
				err = errors.Join(err, fmt.Errorf("remove dedupe record: %w", derr))
			}
			return fmt.Errorf("%s event %s after commit: %w", m.Provider, m.EventID, err)
		}
	}
	return nil
}

// conditionFailures maps which items of a write failed their condition
// (index 0 = the marker). ok is false for any other error.
// conflict reports a transaction conflict with a concurrent writer (retry).
func conditionFailures(err error) (failed map[int]bool, conflict, ok bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return map[int]bool{0: true}, false, true
	}
	var tcx *types.TransactionConflictException
	if errors.As(err, &tcx) {
		return nil, true, false
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false, false
	}
	failed = map[int]bool{}
	for i, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "ConditionalCheckFailed":
			failed[i], ok = true, true
		case "TransactionConflict":
			conflict = true
		}
	}
	if failed[0] {
		return failed, false, true // the marker exists: a duplicate, whatever else happened
	}
	return failed, conflict, ok
}
