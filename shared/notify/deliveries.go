package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Delivery statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	// StatusDropped: never sent (endpoint disabled or deleted, event expired).
	StatusDropped = "dropped"
)

const (
	attemptSK     = "DLV#"  // DLV#<event>#<attempt id>: one per attempt
	summaryPrefix = "DLVS#" // DLVS#<event>#<endpoint>[#<resend nonce>]: where a delivery stands
)

// summarySK is where message m's delivery stands. A resend or replay has its
// own (keyed by its nonce): SQS delivers at least once, so the same resend can
// be received again after it succeeded, and must not go out twice; nor may a
// resend's outcome overwrite the original delivery's.
func summarySK(m Message) string {
	sk := summaryPrefix + m.EventID + "#" + m.EndpointID
	if m.Resend != "" {
		sk += "#" + m.Resend
	}
	return sk
}

// summary is where one event's delivery to one endpoint stands; the sender
// reads it to skip duplicates of a finished delivery.
type summary struct {
	store.Keys
	PartnerID string    `dynamodbav:"partner_id"`
	Status    string    `dynamodbav:"status"`
	Attempts  int       `dynamodbav:"attempts"`
	Updated   time.Time `dynamodbav:"updated"`
}

// Attempt is one entry of the delivery log (GET /v1/events/{id}/deliveries).
type Attempt struct {
	store.Keys   `json:"-"`
	ID           string    `dynamodbav:"id" json:"id"`
	PartnerID    string    `dynamodbav:"partner_id" json:"-"`
	EventID      string    `dynamodbav:"event_id" json:"event_id"`
	EndpointID   string    `dynamodbav:"endpoint_id" json:"endpoint_id"`
	Attempt      int       `dynamodbav:"attempt" json:"attempt"`
	Status       string    `dynamodbav:"status" json:"status"`
	ResponseCode int       `dynamodbav:"response_code,omitempty" json:"response_code,omitempty"`
	LatencyMS    int64     `dynamodbav:"latency_ms" json:"latency_ms"`
	ResponseBody string    `dynamodbav:"response_body,omitempty" json:"response_body,omitempty"` // first MaxResponseKept bytes
	Error        string    `dynamodbav:"error,omitempty" json:"error,omitempty"`
	Final        bool      `dynamodbav:"final,omitempty" json:"final,omitempty"` // the last attempt: dead-lettered
	Resend       bool      `dynamodbav:"resend,omitempty" json:"resend,omitempty"`
	Created      time.Time `dynamodbav:"created" json:"created"`
}

// record logs the attempt and, when finished, the delivery's outcome.
func (s *Sender) record(ctx context.Context, m Message, n int, a Attempt, finished bool) error {
	now := s.Now().UTC()
	a.ID = s.Svc.IDs.ID("dla")
	a.Keys = store.Keys{PK: store.PartnerPK(m.PartnerID), SK: attemptSK + m.EventID + "#" + a.ID, TTL: now.Add(outbox.Retention).Unix()}
	a.PartnerID, a.EventID, a.EndpointID, a.Attempt, a.Created, a.Resend = m.PartnerID, m.EventID, m.EndpointID, n, now, m.Resend != ""
	st := "pending"
	if finished {
		st = a.Status
		if a.Final {
			st = StatusFailed
		}
	}
	sum := summary{Keys: store.Keys{PK: a.PK, SK: summarySK(m), TTL: a.TTL},
		PartnerID: m.PartnerID, Status: st, Attempts: n, Updated: now}
	// The attempt and where the delivery now stands: one round trip.
	var reqs []types.WriteRequest
	for _, item := range []any{a, sum} {
		r, err := store.PutRequest(item)
		if err != nil {
			return fmt.Errorf("log delivery attempt: %w", err)
		}
		reqs = append(reqs, r)
	}
	if err := s.Svc.Store.BatchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("log delivery attempt: %w", err)
	}
	return nil
}
