// Package notify delivers partner notifications (issue 20): the webhook
// endpoints partners register, the relay that fans each outbox event
// (shared/outbox) out to the subscribed endpoints on an SQS FIFO queue, the
// sender that signs (Standard Webhooks) and POSTs each delivery with retries,
// and the event and delivery log API.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/secrets"
	"github.com/payrecon/payrecon/shared/store"
)

// Limits of the endpoints API (documented in docs/notifications.md).
const (
	MaxEndpoints      = 20  // per partner
	MaxDescriptionLen = 256 // characters
	// SecretOverlap is how long a rolled secret keeps signing (Stripe's and
	// Svix's default rotation grace is 24 h).
	SecretOverlap = 24 * time.Hour
)

// Endpoint statuses.
const (
	Enabled  = "enabled"
	Disabled = "disabled"
)

const (
	endpointSK = "WHEP#"
	countSK    = "WHEPCOUNT"
)

// Endpoint is one webhook endpoint of a partner. Its signing secrets live in
// Secrets Manager, never in this item or a GET response.
type Endpoint struct {
	store.Keys
	ID             string    `dynamodbav:"id" json:"id"`
	PartnerID      string    `dynamodbav:"partner_id" json:"-"`
	URL            string    `dynamodbav:"url" json:"url"`
	Events         []string  `dynamodbav:"events" json:"events"`
	Description    string    `dynamodbav:"description,omitempty" json:"description"`
	Status         string    `dynamodbav:"status" json:"status"`
	DisabledReason string    `dynamodbav:"disabled_reason,omitempty" json:"disabled_reason,omitempty"`
	Created        time.Time `dynamodbav:"created" json:"created"`
	Updated        time.Time `dynamodbav:"updated_at" json:"updated"`
}

// Subscribed reports whether the endpoint wants events of type t.
func (e Endpoint) Subscribed(t string) bool { return slices.Contains(e.Events, t) }

// Service holds the endpoints, events and delivery log of every partner.
type Service struct {
	Store   *store.Store
	Secrets secrets.Store
	IDs     *ids.Generator
	Now     func() time.Time
	Rand    io.Reader // signing secrets
	Stage   string    // secret names: payrecon/<stage>/...
	Policy  URLPolicy
	Queue   Enqueuer // resend and replay (nil: those routes answer 503)
	Log     *slog.Logger
	// RedeliveriesPerHour overrides MaxRedeliveriesPerHour (tests).
	RedeliveriesPerHour int
}

// EndpointInput is the body of POST and PATCH /v1/webhook-endpoints.
type EndpointInput struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	Status      *string   `json:"status"` // PATCH only: re-enable after a 410
}

// Created is an endpoint with its secret, answered once (create and roll).
type Created struct {
	Endpoint
	Secret string `json:"secret"`
}

func (s *Service) validate(ctx context.Context, in EndpointInput, create bool) map[string]string {
	bad := map[string]string{}
	if in.URL != nil || create {
		u := ""
		if in.URL != nil {
			u = *in.URL
		}
		if _, err := s.Policy.Check(ctx, u); err != nil {
			if errors.Is(err, ErrForbiddenAddress) {
				bad["url"] = "url must resolve to public addresses only"
			} else {
				bad["url"] = err.Error()
			}
		}
	}
	if in.Events != nil || create {
		switch {
		case in.Events == nil || len(*in.Events) == 0:
			bad["events"] = "events must list at least one event type"
		case len(*in.Events) > len(outbox.Types):
			bad["events"] = fmt.Sprintf("events lists at most %d types", len(outbox.Types))
		default:
			for _, t := range *in.Events {
				if !outbox.KnownType(t) {
					bad["events"] = fmt.Sprintf("unknown event type %q", truncate(t, 64))
					break
				}
			}
		}
	}
	if in.Description != nil && len([]rune(*in.Description)) > MaxDescriptionLen {
		bad["description"] = fmt.Sprintf("description is longer than %d characters", MaxDescriptionLen)
	}
	if in.Status != nil && (create || *in.Status != Enabled && *in.Status != Disabled) {
		bad["status"] = "status is enabled or disabled, and only on update"
	}
	return bad
}

func dedupe(ts []string) []string { return slices.Compact(slices.Sorted(slices.Values(ts))) }

// secretSet is the Secrets Manager value of one endpoint: its signing secrets,
// newest first; a rolled one carries its expiry.
type secretSet struct {
	Secrets []secretEntry `json:"secrets"`
}

// secretEntry is one signing secret; Expires is zero for the current one.
type secretEntry struct {
	Secret  string    `json:"secret"`
	Expires time.Time `json:"expires,omitzero"` // omitempty never omits a struct
}

func (s *Service) secretName(partnerID, endpointID string) string {
	return secrets.Name(s.Stage, partnerID, "webhook-endpoints/"+endpointID)
}

// ActiveSecrets returns the endpoint's secrets valid at now (newest first).
func ActiveSecrets(raw []byte, now time.Time) ([]string, error) {
	var set secretSet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("notify: secret set: %w", err)
	}
	var out []string
	for _, x := range set.Secrets {
		if x.Expires.IsZero() || now.Before(x.Expires) {
			out = append(out, x.Secret)
		}
	}
	return out, nil
}

// Create registers an endpoint and returns it with its signing secret.
func (s *Service) Create(ctx context.Context, partnerID string, in EndpointInput) (Created, error) {
	if bad := s.validate(ctx, in, true); len(bad) > 0 {
		return Created{}, apperr.FieldErrors(bad)
	}
	now := s.Now().UTC()
	id := s.IDs.ID("we")
	sec, err := NewSecret(s.Rand)
	if err != nil {
		return Created{}, err
	}
	ep := Endpoint{
		Keys: store.Keys{PK: store.PartnerPK(partnerID), SK: endpointSK + id},
		ID:   id, PartnerID: partnerID, URL: *in.URL, Events: dedupe(*in.Events), Status: Enabled,
		Created: now, Updated: now,
	}
	if in.Description != nil {
		ep.Description = *in.Description
	}
	set := secretSet{Secrets: []secretEntry{{Secret: sec}}}
	raw, _ := json.Marshal(set)
	httpapi.RememberSecrets(sec) // redacted should it ever reach a log line
	// The secret first: an endpoint never exists without one (a failure below
	// leaves an orphan secret, deleted best-effort, never an unsignable endpoint).
	if err := s.Secrets.Put(ctx, s.secretName(partnerID, id), raw); err != nil {
		return Created{}, fmt.Errorf("store endpoint secret: %w", err)
	}
	put, err := s.Store.PutInput(ep, "attribute_not_exists(pk)", nil)
	if err != nil {
		return Created{}, err
	}
	err = s.Store.Transact(ctx, []types.TransactWriteItem{s.countUpdate(partnerID, 1), store.TxPut(put)})
	if err != nil {
		_ = s.Secrets.Delete(ctx, s.secretName(partnerID, id))
		if errors.Is(err, store.ErrConditionFailed) {
			return Created{}, apperr.New(apperr.Unprocessable, "a partner has at most %d webhook endpoints", MaxEndpoints)
		}
		return Created{}, err
	}
	return Created{Endpoint: ep, Secret: sec}, nil
}

// countUpdate moves the partner's endpoint count by delta, refusing to go over
// MaxEndpoints, in the same transaction as the endpoint's put or delete.
func (s *Service) countUpdate(partnerID string, delta int) types.TransactWriteItem {
	u := &types.Update{
		TableName: aws.String(s.Store.Table), Key: store.Key(store.PartnerPK(partnerID), countSK),
		UpdateExpression:          aws.String("ADD #n :d SET partner_id = :p"),
		ExpressionAttributeNames:  map[string]string{"#n": "n"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberN{Value: fmt.Sprint(delta)}, ":p": &types.AttributeValueMemberS{Value: partnerID}},
	}
	if delta > 0 {
		u.ConditionExpression = aws.String("attribute_not_exists(#n) OR #n < :max")
		u.ExpressionAttributeValues[":max"] = &types.AttributeValueMemberN{Value: fmt.Sprint(MaxEndpoints)}
	}
	return types.TransactWriteItem{Update: u}
}

// Get returns one of the partner's endpoints (404 for anyone else's).
func (s *Service) Get(ctx context.Context, partnerID, id string) (Endpoint, error) {
	var ep Endpoint
	if !endpointID(id) {
		return ep, apperr.New(apperr.NotFound, "webhook endpoint not found")
	}
	if err := s.Store.Get(ctx, store.PartnerPK(partnerID), endpointSK+id, &ep); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ep, apperr.New(apperr.NotFound, "webhook endpoint not found")
		}
		return ep, err
	}
	return ep, nil
}

// endpointID reports whether id can name an endpoint (a cheap refusal
// before any read, and a key DynamoDB accepts).
func endpointID(id string) bool { return strings.HasPrefix(id, "we_") && len(id) <= 64 }

// List returns every endpoint of the partner (at most MaxEndpoints).
func (s *Service) List(ctx context.Context, partnerID string) ([]Endpoint, error) {
	out := []Endpoint{}
	_, err := s.Store.QueryPage(ctx, store.Query{PK: store.PartnerPK(partnerID), SKPrefix: endpointSK, Limit: MaxEndpoints + 1}, &out)
	return out, err
}

// Update changes url, events, description or status.
func (s *Service) Update(ctx context.Context, partnerID, id string, in EndpointInput) (Endpoint, error) {
	ep, err := s.Get(ctx, partnerID, id)
	if err != nil {
		return ep, err
	}
	if bad := s.validate(ctx, in, false); len(bad) > 0 {
		return ep, apperr.FieldErrors(bad)
	}
	if in.URL != nil {
		ep.URL = *in.URL
	}
	if in.Events != nil {
		ep.Events = dedupe(*in.Events)
	}
	if in.Description != nil {
		ep.Description = *in.Description
	}
	if in.Status != nil {
		ep.Status = *in.Status
		if ep.Status == Enabled {
			ep.DisabledReason = ""
		} else if ep.DisabledReason == "" {
			ep.DisabledReason = "disabled by the partner"
		}
	}
	prev := ep.Updated
	ep.Updated = s.Now().UTC()
	// Optimistic: a concurrent update (or the sender disabling it) wins, this one retries.
	if err := s.Store.PutIf(ctx, ep, "updated_at = :u", map[string]any{":u": prev}); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return ep, apperr.New(apperr.Conflict, "the endpoint changed meanwhile; retry")
		}
		return ep, err
	}
	return ep, nil
}

// Delete removes the endpoint and its secrets; queued deliveries to it are dropped.
func (s *Service) Delete(ctx context.Context, partnerID, id string) error {
	if _, err := s.Get(ctx, partnerID, id); err != nil {
		return err
	}
	del := s.Store.TxDelete(store.PartnerPK(partnerID), endpointSK+id, "attribute_exists(pk)")
	if err := s.Store.Transact(ctx, []types.TransactWriteItem{del, s.countUpdate(partnerID, -1)}); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return apperr.New(apperr.NotFound, "webhook endpoint not found")
		}
		return err
	}
	if err := s.Secrets.Delete(ctx, s.secretName(partnerID, id)); err != nil && !errors.Is(err, secrets.ErrNotFound) {
		s.Log.WarnContext(ctx, "webhook endpoint secret not deleted", "endpoint_id", id, "err", err)
	}
	return nil
}

// RollSecret makes a new signing secret; the previous ones stay valid for
// SecretOverlap (secrets already expiring keep their own expiry).
func (s *Service) RollSecret(ctx context.Context, partnerID, id string) (Created, error) {
	ep, err := s.Get(ctx, partnerID, id)
	if err != nil {
		return Created{}, err
	}
	// A roll reads, changes and writes the secret set; Secrets Manager has no
	// compare-and-set, so two concurrent rolls would each answer a secret
	// while the last write keeps only its own: the other, shown once to the
	// partner, would never sign. A lease item serialises them (the loser gets
	// 409); it expires by itself if this call dies half-way.
	release, err := s.leaseRoll(ctx, partnerID, id)
	if err != nil {
		return Created{}, err
	}
	defer release()
	name := s.secretName(partnerID, id)
	raw, err := s.readSecret(ctx, name)
	if err != nil {
		return Created{}, fmt.Errorf("read endpoint secret: %w", err)
	}
	var old secretSet
	if err := json.Unmarshal(raw, &old); err != nil {
		return Created{}, fmt.Errorf("endpoint secret: %w", err)
	}
	now := s.Now().UTC()
	sec, err := NewSecret(s.Rand)
	if err != nil {
		return Created{}, err
	}
	set := secretSet{Secrets: []secretEntry{{Secret: sec}}}
	for _, x := range old.Secrets {
		switch {
		case x.Expires.IsZero():
			x.Expires = now.Add(SecretOverlap)
		case !now.Before(x.Expires):
			continue // expired: dropped
		}
		set.Secrets = append(set.Secrets, x)
	}
	if len(set.Secrets) > 3 { // rolling again and again keeps the newest few only
		set.Secrets = set.Secrets[:3]
	}
	b, _ := json.Marshal(set)
	httpapi.RememberSecrets(sec)
	if err := s.Secrets.Put(ctx, name, b); err != nil {
		return Created{}, fmt.Errorf("store endpoint secret: %w", err)
	}
	return Created{Endpoint: ep, Secret: sec}, nil
}

// rollLease is held while one roll of an endpoint's secret is under way.
type rollLease struct {
	store.Keys
	Until int64 `dynamodbav:"lease_until"` // Unix ms
}

// rollLeaseTime outlives any roll: the API function's Lambda timeout is 29 s.
const rollLeaseTime = time.Minute

func (s *Service) leaseRoll(ctx context.Context, partnerID, id string) (func(), error) {
	now := s.Now()
	pk, sk := store.PartnerPK(partnerID), "WHEPROLL#"+id
	l := rollLease{Keys: store.Keys{PK: pk, SK: sk, TTL: now.Add(time.Hour).Unix()}, Until: now.Add(rollLeaseTime).UnixMilli()}
	err := s.Store.PutIf(ctx, l, "attribute_not_exists(pk) OR lease_until < :now", map[string]any{":now": now.UnixMilli()})
	if errors.Is(err, store.ErrConditionFailed) {
		return nil, apperr.New(apperr.Conflict, "the endpoint's secret is being rolled by another request; retry")
	}
	if err != nil {
		return nil, err
	}
	return func() {
		// context.WithoutCancel: released even when the request's context is done.
		if err := s.Store.Delete(context.WithoutCancel(ctx), pk, sk); err != nil {
			s.Log.WarnContext(ctx, "secret roll lease not released (expires by itself)", "endpoint_id", id, "err", err)
		}
	}, nil
}

// readSecret reads past a cache: a read-modify-write must start from the
// stored value, not one up to a cache TTL old.
func (s *Service) readSecret(ctx context.Context, name string) ([]byte, error) {
	if c, ok := s.Secrets.(*secrets.Cached); ok {
		return c.Next.Get(ctx, name)
	}
	return s.Secrets.Get(ctx, name)
}

// signingSecrets returns the endpoint's active secrets at now.
func (s *Service) signingSecrets(ctx context.Context, partnerID, id string, now time.Time) ([]string, error) {
	raw, err := s.Secrets.Get(ctx, s.secretName(partnerID, id))
	if err != nil {
		return nil, err
	}
	secs, err := ActiveSecrets(raw, now)
	httpapi.RememberSecrets(secs...)
	return secs, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
