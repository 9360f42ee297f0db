package webhooks

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/queue"
)

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

// BasicAuth is a delivery's HTTP Basic credentials (ok=false when none).
type BasicAuth struct {
	User, Pass string
	OK         bool
}

// matches compares in constant time with the configured credentials (Qualpay's
// optional Authentication Type, "Webhooks in Qualpay Manager"); with none
// configured it passes.
func (b BasicAuth) matches(user, pass string) bool {
	if user == "" && pass == "" {
		return true
	}
	if !b.OK {
		return false
	}
	uh, ph := sha256.Sum256([]byte(b.User)), sha256.Sum256([]byte(b.Pass))
	wu, wp := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return subtle.ConstantTimeCompare(uh[:], wu[:])&subtle.ConstantTimeCompare(ph[:], wp[:]) == 1
}

// QualpayCompany is the 200-and-ignore rule for Qualpay: the company of
// partnerID linked to merchantID, or "" when the merchant is unknown,
// disconnected or another partner's. Qualpay suspends a webhook after repeated
// failures ("Webhooks in Qualpay Manager"), so such a verified event is
// recorded as ignored and answered 200, never failed. Callers that find the
// merchant elsewhere in a payload use it the same way.
func (s *Service) QualpayCompany(ctx context.Context, partnerID, merchantID string) (string, error) {
	rt, err := s.Routes.LookupRoute(ctx, "qualpay", merchantID)
	if apperr.Is(err, apperr.NotFound) || err == nil && rt.PartnerID != partnerID {
		return "", nil
	}
	return rt.CompanyID, err
}

// HandleQualpay processes one Qualpay delivery. On /qualpay/{partner_id} the
// credentials come from the path and the signature (and Basic credentials,
// when the partner set them) are checked on the raw bytes before the body is
// parsed at all. On the shared /qualpay only the merchant is read first, to
// find whose secrets to check with; a merchant that cannot be attributed gets
// the uniform rejection.
func (s *Service) HandleQualpay(ctx context.Context, pathPartner string, body []byte, sig string, basic BasicAuth) (Result, error) {
	partnerID, companyID, merchant := pathPartner, "", ""
	if pathPartner == "" {
		var peek qualpayEvent
		if json.Unmarshal(body, &peek) != nil || peek.merchant() == "" {
			return Result{}, s.refuse(ctx, "qualpay", "shared URL: body names no merchant")
		}
		merchant = peek.merchant()
		rt, err := s.Routes.LookupRoute(ctx, "qualpay", merchant)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return Result{}, s.refuse(ctx, "qualpay", "shared URL: unknown merchant", "merchant_id", merchant)
			}
			return Result{}, err
		}
		partnerID, companyID = rt.PartnerID, rt.CompanyID
	}
	keys, err := s.Keys.QualpayKeys(ctx, partnerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return Result{}, s.refuse(ctx, "qualpay", "partner has no Qualpay credentials", "partner_id", partnerID)
		}
		return Result{}, err
	}
	secretsOK := VerifyQualpay(body, sig, credentials.SecretsOf(keys.WebhookSecrets, credentials.KindQualpay)...)
	if basicOK := basic.matches(keys.WebhookUsername, keys.WebhookPassword); !secretsOK || !basicOK {
		return Result{}, s.refuse(ctx, "qualpay", "signature or Basic credentials do not match", "partner_id", partnerID,
			"signature_ok", secretsOK, "basic_ok", basicOK, "secrets", len(keys.WebhookSecrets))
	}
	m := marker{PartnerID: partnerID, CompanyID: companyID, Provider: "qualpay", EventID: bodyID(body), Type: "unparseable", Account: merchant}
	var peek qualpayEvent
	if err := json.Unmarshal(body, &peek); err != nil {
		return s.reject(ctx, m, apperr.New(apperr.Invalid, "webhook body is not valid JSON"))
	}
	// Qualpay redelivers the same bytes; without an event ID the body's hash is the identity.
	if id := firstNonEmpty(rawID(peek.EventID), rawID(peek.ID)); id != "" {
		m.EventID = id
	}
	if m.Type = peek.name(); m.Type == "" {
		m.Type = "unnamed"
		return s.reject(ctx, m, apperr.New(apperr.Invalid, "webhook body has no event name"))
	}
	if merchant == "" {
		if merchant = peek.merchant(); merchant != "" {
			m.Account = merchant
			if companyID, err = s.QualpayCompany(ctx, partnerID, merchant); err != nil {
				return Result{}, err
			}
			if companyID == "" {
				return s.commit(ctx, m, ignore(ReasonMerchantUnlinked))
			}
			m.CompanyID = companyID
		}
	}
	name := m.Type
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
