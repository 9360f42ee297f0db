package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Limits of the events API.
const (
	MaxPage = 100 // delivery attempts per page (each under 2 KiB: bodies are cut at 1 KiB)
	// MaxEventsPage bounds a page of events: 50 x outbox.MaxData (64 KiB) is
	// 3.2 MiB, under Lambda's 6 MB response limit whatever the objects.
	MaxEventsPage = 50
	// MaxReplayEvents is how many events one replay call queues; a longer range
	// answers has_more and next_since to continue from.
	MaxReplayEvents = 500
	// MaxReplayRange: a replay covers at most 7 days per call (events are kept 30).
	MaxReplayRange = 7 * 24 * time.Hour
)

// EventFilter narrows GET /v1/events.
type EventFilter struct {
	Type, CompanyID, Cursor string
	Limit                   int32
}

// Events lists the partner's events, newest first.
func (s *Service) Events(ctx context.Context, partnerID string, f EventFilter) ([]json.RawMessage, string, error) {
	q := store.Query{PK: store.PartnerPK(partnerID), SKPrefix: outbox.SKPrefix, Desc: true, Limit: f.Limit, Cursor: f.Cursor, Values: map[string]any{}, Names: map[string]string{}}
	if q.Limit <= 0 || q.Limit > MaxEventsPage {
		q.Limit = MaxEventsPage
	}
	var conds []string
	if f.Type != "" {
		if !outbox.KnownType(f.Type) {
			return nil, "", apperr.FieldErrors(map[string]string{"type": "unknown event type"})
		}
		conds = append(conds, "#t = :t")
		q.Values[":t"], q.Names["#t"] = f.Type, "type"
	}
	if f.CompanyID != "" {
		conds = append(conds, "company_id = :c")
		q.Values[":c"] = f.CompanyID
	}
	q.Filter = strings.Join(conds, " AND ")
	var evs []outbox.Event
	next, err := s.Store.QueryPage(ctx, q, &evs)
	if err != nil {
		return nil, "", err
	}
	out := make([]json.RawMessage, 0, len(evs))
	for _, e := range evs {
		b, err := e.Body()
		if err != nil {
			return nil, "", err
		}
		out = append(out, b)
	}
	return out, next, nil
}

// Event returns one of the partner's events.
func (s *Service) Event(ctx context.Context, partnerID, id string) (outbox.Event, error) {
	var ev outbox.Event
	if !strings.HasPrefix(id, "evt_") || len(id) > 64 {
		return ev, apperr.New(apperr.NotFound, "event not found")
	}
	if err := s.Store.Get(ctx, store.PartnerPK(partnerID), outbox.SKPrefix+id, &ev); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ev, apperr.New(apperr.NotFound, "event not found")
		}
		return ev, err
	}
	return ev, nil
}

// Deliveries lists an event's delivery attempts, oldest first.
func (s *Service) Deliveries(ctx context.Context, partnerID, eventID, cursor string) ([]Attempt, string, error) {
	if _, err := s.Event(ctx, partnerID, eventID); err != nil {
		return nil, "", err
	}
	out := []Attempt{}
	next, err := s.Store.QueryPage(ctx, store.Query{PK: store.PartnerPK(partnerID), SKPrefix: attemptSK + eventID + "#", Limit: MaxPage, Cursor: cursor}, &out)
	return out, next, err
}

// Resend queues the event again to each enabled endpoint subscribed to its
// type (or only endpointID), even if an earlier delivery succeeded.
func (s *Service) Resend(ctx context.Context, partnerID, eventID, endpointID string) (int, error) {
	ev, err := s.Event(ctx, partnerID, eventID)
	if err != nil {
		return 0, err
	}
	eps, err := s.List(ctx, partnerID)
	if err != nil {
		return 0, err
	}
	nonce := s.IDs.ID("rs")
	var msgs []Message
	for _, ep := range eps {
		if ep.Status == Enabled && ep.Subscribed(ev.Type) && (endpointID == "" || ep.ID == endpointID) {
			msgs = append(msgs, Message{EventID: ev.ID, PartnerID: partnerID, EndpointID: ep.ID, ObjectID: ev.ObjectID, Resend: nonce})
		}
	}
	if endpointID != "" && len(msgs) == 0 {
		return 0, apperr.New(apperr.Unprocessable, "endpoint_id is not an enabled endpoint subscribed to %s", ev.Type)
	}
	return len(msgs), s.enqueue(ctx, partnerID, msgs)
}

// MaxRedeliveriesPerHour caps what resend and replay queue per partner and
// clock hour: each is a bounded call, but calls in a loop would flood the
// delivery queue (and the partner's endpoints) that every partner shares.
// 5,000 is ten full replay pages an hour.
const MaxRedeliveriesPerHour = 5000

func (s *Service) enqueue(ctx context.Context, partnerID string, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if s.Queue == nil {
		return apperr.New(apperr.Unavailable, "the delivery queue is not configured")
	}
	if err := s.takeRedeliveries(ctx, partnerID, len(msgs)); err != nil {
		return err
	}
	return s.Queue.Enqueue(ctx, msgs)
}

// takeRedeliveries counts n redeliveries against the partner's hourly quota
// (a counter item per hour, expiring after it), refusing with 429 over it.
func (s *Service) takeRedeliveries(ctx context.Context, partnerID string, n int) error {
	limit := s.RedeliveriesPerHour
	if limit <= 0 {
		limit = MaxRedeliveriesPerHour
	}
	now := s.Now().UTC()
	hour := now.Truncate(time.Hour)
	room := limit - n
	if room < 0 {
		return apperr.New(apperr.RateLimited, "at most %d redeliveries an hour; narrow the replay", limit)
	}
	_, err := s.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Store.Table), Key: store.Key(store.PartnerPK(partnerID), "WHREDELIVER#"+hour.Format("2006010215")),
		UpdateExpression:         aws.String("ADD #n :n SET #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n <= :room"),
		ExpressionAttributeNames: map[string]string{"#n": "n", "#ttl": "ttl"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n":    &types.AttributeValueMemberN{Value: strconv.Itoa(n)},
			":room": &types.AttributeValueMemberN{Value: strconv.Itoa(room)},
			":ttl":  &types.AttributeValueMemberN{Value: strconv.FormatInt(hour.Add(2*time.Hour).Unix(), 10)},
		},
	})
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		e := apperr.New(apperr.RateLimited, "at most %d redeliveries (resend and replay) an hour; try again after %s", limit, hour.Add(time.Hour).Format(time.RFC3339))
		e.RetryAfter = int(hour.Add(time.Hour).Sub(now).Seconds()) + 1 // the Retry-After header
		return e
	}
	if err != nil {
		return fmt.Errorf("redelivery quota: %w", err)
	}
	return nil
}

// ReplayResult is the answer to a replay.
type ReplayResult struct {
	Queued    int        `json:"queued"`
	HasMore   bool       `json:"has_more"`
	NextSince *time.Time `json:"next_since,omitempty"`
}

// Replay queues, to one endpoint, every event it subscribes to created in
// [since, until], oldest first, looking at most at MaxReplayEvents events per call.
func (s *Service) Replay(ctx context.Context, partnerID, endpointID string, since, until time.Time) (ReplayResult, error) {
	ep, err := s.Get(ctx, partnerID, endpointID)
	if err != nil {
		return ReplayResult{}, err
	}
	now := s.Now()
	switch {
	case ep.Status != Enabled:
		return ReplayResult{}, apperr.New(apperr.Unprocessable, "the endpoint is disabled; enable it first")
	case since.IsZero():
		return ReplayResult{}, apperr.FieldErrors(map[string]string{"since": "since is required (RFC 3339)"})
	case !until.After(since):
		return ReplayResult{}, apperr.FieldErrors(map[string]string{"since": "since must be before until"})
	case until.Sub(since) > MaxReplayRange:
		return ReplayResult{}, apperr.FieldErrors(map[string]string{"until": fmt.Sprintf("a replay covers at most %s", MaxReplayRange)})
	case since.Before(now.Add(-outbox.Retention)):
		return ReplayResult{}, apperr.FieldErrors(map[string]string{"since": "events are kept for 30 days"})
	}
	nonce := s.IDs.ID("rp")
	var msgs []Message
	var res ReplayResult
	var last time.Time
	scanned := 0
	err = s.Store.QueryAll(ctx, store.Query{PK: store.PartnerPK(partnerID),
		SKFrom: outbox.SKPrefix + IDBound("evt", since, false), SKTo: outbox.SKPrefix + IDBound("evt", until, true), Limit: MaxPage},
		MaxReplayEvents+1, func(items []map[string]types.AttributeValue) error {
			var page []outbox.Event
			if err := unmarshalList(items, &page); err != nil {
				return err
			}
			for _, ev := range page {
				if scanned == MaxReplayEvents {
					res.HasMore = true
					return nil
				}
				scanned++
				last = ev.Created
				if ep.Subscribed(ev.Type) {
					msgs = append(msgs, Message{EventID: ev.ID, PartnerID: partnerID, EndpointID: ep.ID, ObjectID: ev.ObjectID, Resend: nonce})
				}
			}
			return nil
		})
	if err != nil {
		return res, err
	}
	if err := s.enqueue(ctx, partnerID, msgs); err != nil {
		return res, err
	}
	res.Queued = len(msgs)
	if res.HasMore {
		// Inclusive: an event of the same millisecond is never skipped (a
		// repeat carries the same webhook-id, which receivers deduplicate on).
		next := last
		res.NextSince = &next
	}
	return res, nil
}
