package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/queue"
)

// QualpaySignatureHeader carries Base64(HMAC-SHA256(raw body, webhook secret)).
const QualpaySignatureHeader = "x-qualpay-webhook-signature"

// SignQualpay computes the signature Qualpay sends for body.
func SignQualpay(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyQualpay checks sig against body in constant time, before any parsing.
func VerifyQualpay(body []byte, sig, secret string) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size || secret == "" {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// qualpayEvent is the part of a Qualpay webhook we use. Qualpay puts the
// merchant either at the top level or inside data; IDs may be numbers or strings.
type qualpayEvent struct {
	Event     string           `json:"event"`
	EventType string           `json:"event_type"`
	EventID   json.RawMessage  `json:"event_id"`
	ID        json.RawMessage  `json:"id"`
	Merchant  json.RawMessage  `json:"merchant_id"`
	Timestamp string           `json:"timestamp"`
	Data      qualpayEventData `json:"data"`
}

// qualpayEventData is where Qualpay puts the merchant inside an event: on
// data itself (one transaction or object as data) or per transaction in
// data.transactions[]. Any other shape of data is ignored, not an error.
type qualpayEventData struct {
	Merchant     json.RawMessage `json:"merchant_id"`
	PGID         string          `json:"pg_id"`
	Transactions []struct {
		Merchant json.RawMessage `json:"merchant_id"`
	} `json:"transactions"`
}

// UnmarshalJSON tolerates data that is not an object (a list, a string).
func (d *qualpayEventData) UnmarshalJSON(b []byte) error {
	type plain qualpayEventData
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		*d = qualpayEventData{}
		return nil
	}
	*d = qualpayEventData(p)
	return nil
}

func rawID(r json.RawMessage) string {
	s := strings.TrimSpace(string(r))
	if s == "" || s == "null" {
		return ""
	}
	if uq, err := strconv.Unquote(s); err == nil {
		return uq
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	return ""
}

// merchant is the event's merchant: top level, then data, then the first
// transaction in data.transactions[] that names one.
func (e *qualpayEvent) merchant() string {
	if m := rawID(e.Merchant); m != "" {
		return m
	}
	if m := rawID(e.Data.Merchant); m != "" {
		return m
	}
	for _, t := range e.Data.Transactions {
		if m := rawID(t.Merchant); m != "" {
			return m
		}
	}
	return ""
}

func (e *qualpayEvent) name() string { return firstNonEmpty(e.Event, e.EventType) }

// QualpayAccountUpdaterCompleted is the event Qualpay sends when an Account
// Updater request has its answers (spec: createAusRequest). It says only that
// a harvest is complete: the worker reads the results and applies them.
const QualpayAccountUpdaterCompleted = "account_updater_request_completed"

// QualpayTriggersPull reports whether an event is about money moving (payments,
// settlement, deposits), so the merchant's deposits should be pulled.
func QualpayTriggersPull(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"transaction", "payment", "settle", "batch", "deposit", "refund", "chargeback", "dispute"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// HandleQualpay processes one Qualpay delivery. On /qualpay/{partner_id} the
// signature is checked before the body is parsed at all; on the shared /qualpay
// only the merchant is read first, to find the partner (a read-only lookup).
// The check is on the raw bytes, in constant time.
func (s *Service) HandleQualpay(ctx context.Context, pathPartner string, body []byte, sig string) (Result, error) {
	partnerID, companyID, merchant := pathPartner, "", ""
	if pathPartner == "" {
		// Shared URL: the only thing read before the signature is the merchant,
		// to find whose secret to check with (a read-only lookup).
		var peek qualpayEvent
		if err := json.Unmarshal(body, &peek); err != nil {
			return Result{}, apperr.New(apperr.Invalid, "webhook body is not valid JSON")
		}
		if merchant = peek.merchant(); merchant == "" {
			return Result{}, apperr.New(apperr.Invalid, "event names no merchant; use /qualpay/{partner_id}")
		}
		rt, err := s.routeOf(ctx, "qualpay", merchant, "")
		if err != nil {
			return Result{}, err
		}
		partnerID, companyID = rt.PartnerID, rt.CompanyID
	}
	keys, err := s.Keys.QualpayKeys(ctx, partnerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return Result{}, apperr.New(apperr.Invalid, "no Qualpay webhook secret is configured for this partner")
		}
		return Result{}, err
	}
	if !VerifyQualpay(body, sig, keys.WebhookSecret) {
		return Result{}, errBadSignature
	}
	var peek qualpayEvent
	if err := json.Unmarshal(body, &peek); err != nil {
		return Result{}, apperr.New(apperr.Invalid, "webhook body is not valid JSON")
	}
	if merchant == "" {
		if merchant = peek.merchant(); merchant != "" {
			rt, err := s.routeOf(ctx, "qualpay", merchant, partnerID)
			if err != nil {
				return Result{}, err
			}
			companyID = rt.CompanyID
		}
	}
	name := peek.name()
	if name == "" {
		return Result{}, apperr.New(apperr.Invalid, "webhook body has no event name")
	}
	// Qualpay redelivers the same bytes; without an event ID the body's hash is the identity.
	id := firstNonEmpty(rawID(peek.EventID), rawID(peek.ID))
	if id == "" {
		sum := sha256.Sum256(bytes.TrimSpace(body))
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	m := marker{PartnerID: partnerID, CompanyID: companyID, Provider: "qualpay", EventID: id, Type: name, Account: merchant}
	return s.commit(ctx, m, func(ctx context.Context, _ int) (plan, error) {
		kind := queue.KindQualpayPullDeposits
		switch {
		case companyID == "":
			return plan{outcome: OutcomeIgnored}, nil
		case name == QualpayAccountUpdaterCompleted:
			kind = queue.KindQualpayAccountUpdater
		case !QualpayTriggersPull(name):
			return plan{outcome: OutcomeIgnored}, nil
		}
		job := s.qualpayPullJob(partnerID, companyID, merchant)
		if kind == queue.KindQualpayAccountUpdater {
			job = queue.Job{Kind: kind, PartnerID: partnerID, CompanyID: companyID, AccountID: merchant}
		}
		return plan{outcome: OutcomeApplied, after: []func(context.Context) error{func(ctx context.Context) error {
			return s.Queue.Enqueue(ctx, job)
		}}}, nil
	})
}

// qualpayPullJob is the pull a Qualpay event brings forward: the same
// lookback window the schedule pulls, so a webhook only makes it sooner.
func (s *Service) qualpayPullJob(pid, cid, merchant string) queue.Job {
	return (&QualpayPulls{Now: s.Now}).Soon(pid, cid, merchant)
}
