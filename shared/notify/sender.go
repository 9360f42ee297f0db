package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/secrets"
	"github.com/payrecon/payrecon/shared/store"
)

// Delivery timeouts: a partner's endpoint must answer quickly (Svix allows
// 15 s and treats 3xx as failures, https://docs.svix.com/retries; we allow 10 s).
const (
	ConnectTimeout = 3 * time.Second
	TotalTimeout   = 10 * time.Second
	// MaxResponseKept is how much of a response body the delivery log keeps.
	MaxResponseKept = 1 << 10
)

// NewHTTPClient is the delivery client: short timeouts, no proxy from the
// environment, no redirects (a 3xx is a failed attempt), and every connection
// checked against the policy on the address actually dialled.
func NewHTTPClient(p URLPolicy) *http.Client {
	d := &net.Dialer{Timeout: ConnectTimeout, Control: p.DialControl}
	return &http.Client{
		Timeout: TotalTimeout,
		Transport: &http.Transport{
			Proxy: nil, DialContext: d.DialContext, ForceAttemptHTTP2: true,
			TLSHandshakeTimeout: ConnectTimeout, ResponseHeaderTimeout: TotalTimeout,
			MaxIdleConnsPerHost: 4, IdleConnTimeout: 60 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Sender delivers queued messages.
type Sender struct {
	Svc   *Service
	HTTP  *http.Client
	Queue Visibility
	Now   func() time.Time
	Rand  func() float64 // backoff jitter
	Log   *slog.Logger
	// Backoff overrides the retry delay (tests: no waiting); nil = Backoff.
	Backoff func(attempt int, r func() float64) (time.Duration, bool)
}

// Outcome of one attempt.
type Outcome int

const (
	// Done: delivered, or can never be (endpoint gone or disabled, event expired).
	Done Outcome = iota
	// Retry after the returned delay.
	Retry
	// GiveUp: the last attempt failed; the message goes to the dead-letter queue.
	GiveUp
)

// Deliver makes attempt number attempt (1-based) of m.
func (s *Sender) Deliver(ctx context.Context, m Message, attempt int) (Outcome, time.Duration, error) {
	svc := s.Svc
	if !endpointID(m.EndpointID) {
		return Done, 0, s.record(ctx, m, attempt, Attempt{Status: StatusDropped, Error: "endpoint deleted"}, true)
	}
	// Where the delivery stands, the event and the endpoint: one round trip
	// (all three are in the partner's partition), on every attempt.
	var (
		sum summary
		ev  outbox.Event
		ep  Endpoint
	)
	found, err := svc.Store.GetEach(ctx, store.PartnerPK(m.PartnerID),
		[]string{summarySK(m), outbox.SKPrefix + m.EventID, endpointSK + m.EndpointID}, []any{&sum, &ev, &ep})
	if err != nil {
		return Retry, 0, err
	}
	if found[0] && (sum.Status == StatusSucceeded || sum.Status == StatusFailed || sum.Status == StatusDropped) {
		// A duplicate of a finished delivery: the relay re-sent it after the
		// dedup window, or SQS delivered the same message again (at least once).
		return Done, 0, nil
	}
	if !found[1] {
		return Done, 0, s.record(ctx, m, attempt, Attempt{Status: StatusDropped, Error: "event expired"}, true)
	}
	if !found[2] {
		return Done, 0, s.record(ctx, m, attempt, Attempt{Status: StatusDropped, Error: "endpoint deleted"}, true)
	}
	if ep.Status != Enabled {
		return Done, 0, s.record(ctx, m, attempt, Attempt{Status: StatusDropped, Error: "endpoint disabled"}, true)
	}
	if !ep.Subscribed(ev.Type) {
		// Queued (or retrying) when the endpoint still wanted this type; the
		// partner has since unsubscribed it, and an endpoint only ever gets
		// the types it subscribes to now.
		return Done, 0, s.record(ctx, m, attempt, Attempt{Status: StatusDropped, Error: "endpoint no longer subscribed to " + ev.Type}, true)
	}
	body, err := ev.Body()
	if err != nil {
		// A stored event that cannot be encoded never will be: record it, no retries.
		return Done, 0, s.record(ctx, m, attempt, Attempt{Status: StatusDropped, Error: "event data is not JSON"}, true)
	}
	now := s.Now().UTC()
	secs, err := svc.signingSecrets(ctx, m.PartnerID, m.EndpointID, now)
	if err != nil {
		if errors.Is(err, secrets.ErrNotFound) {
			return Done, 0, s.record(ctx, m, attempt, Attempt{Status: StatusDropped, Error: "endpoint deleted"}, true)
		}
		return Retry, 0, err
	}
	a := s.post(ctx, ep, ev.ID, body, secs, now)
	switch {
	case a.Status == StatusSucceeded:
		return Done, 0, s.record(ctx, m, attempt, a, true)
	case a.ResponseCode == http.StatusGone:
		// 410: the partner retired the endpoint (the rule; Strike documents
		// 410 as the receiver's opt-out too, https://docs.strike.me/webhooks/failure-recovery).
		if err := s.disable(ctx, ep, fmt.Sprintf("endpoint answered 410 Gone to event %s at %s", ev.ID, now.Format(time.RFC3339))); err != nil {
			return Retry, 0, err
		}
		a.Error = "410 Gone: endpoint disabled"
		return Done, 0, s.record(ctx, m, attempt, a, true)
	}
	backoff := s.Backoff
	if backoff == nil {
		backoff = Backoff
	}
	delay, ok := backoff(attempt, s.Rand)
	if !ok || attempt >= MaxAttempts {
		a.Final = true
		return GiveUp, 0, s.record(ctx, m, attempt, a, true)
	}
	return Retry, delay, s.record(ctx, m, attempt, a, false)
}

// post signs and sends the event's body; the attempt says how it went.
func (s *Sender) post(ctx context.Context, ep Endpoint, eventID string, body []byte, secs []string, now time.Time) Attempt {
	sig, err := Sign(secs, eventID, now, body)
	if err != nil {
		return Attempt{Status: StatusFailed, Error: "no valid signing secret"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return Attempt{Status: StatusFailed, Error: "invalid endpoint url"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "payrecon-webhooks/1")
	req.Header.Set(HeaderID, eventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	start := time.Now()
	res, err := s.HTTP.Do(req)
	latency := time.Since(start).Milliseconds()
	if err != nil {
		return Attempt{Status: StatusFailed, LatencyMS: latency, Error: describe(err)}
	}
	defer res.Body.Close()
	kept, _ := io.ReadAll(io.LimitReader(res.Body, MaxResponseKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // let the connection be reused
	// DynamoDB strings are UTF-8: a binary body, or the cut through a multi-byte
	// character, is made valid here rather than left to the SDK's JSON encoding.
	a := Attempt{LatencyMS: latency, ResponseCode: res.StatusCode, ResponseBody: strings.ToValidUTF8(string(kept), "\uFFFD")}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		a.Status = StatusSucceeded
	} else {
		a.Status = StatusFailed
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			a.Error = "redirects are not followed"
		}
	}
	return a
}

// describe turns a transport error into a log line without internals (no
// resolved addresses of the partner's host beyond what the partner gave).
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "refused: the endpoint resolves to a non-public address"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return "connection failed"
	}
}

func (s *Sender) disable(ctx context.Context, ep Endpoint, reason string) error {
	prev := ep.Updated
	ep.Status, ep.DisabledReason, ep.Updated = Disabled, reason, s.Now().UTC()
	err := s.Svc.Store.PutIf(ctx, ep, "updated_at = :u", map[string]any{":u": prev})
	if errors.Is(err, store.ErrConditionFailed) {
		return nil // changed meanwhile (deleted, re-configured): the partner's change wins
	}
	return err
}

// HandleSQS is the sender's Lambda entry (BatchSize 1 in the template; any
// batch works). A message that must be retried is delayed by its backoff
// (ChangeMessageVisibility) and reported as a batch item failure; later
// messages of its group in the same batch are reported too, so order holds.
// The attempt number is SQS's ApproximateReceiveCount; the queue's redrive
// policy moves a message to the dead-letter queue after MaxAttempts receives.
func (s *Sender) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var res events.SQSEventResponse
	blocked := map[string]bool{}
	delays := map[string]time.Duration{} // group -> its head's retry delay
	fail := func(id string) {
		res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	for _, rec := range ev.Records {
		group := rec.Attributes["MessageGroupId"]
		if blocked[group] {
			// In flight, a follower would hold its group past the head's
			// retry: it comes back with the head.
			if d, ok := delays[group]; ok {
				_ = s.Queue.Delay(ctx, rec.ReceiptHandle, d)
			}
			fail(rec.MessageId)
			continue
		}
		var m Message
		if err := json.Unmarshal([]byte(rec.Body), &m); err != nil || m.EventID == "" || m.EndpointID == "" || m.PartnerID == "" {
			// Never written by the relay, and retrying cannot fix it: logged and
			// acknowledged (as the worker treats queue.ErrPermanent), rather than
			// holding its FIFO group for 12 receives until the DLQ.
			s.Log.ErrorContext(ctx, "delivery message dropped: not a delivery", "message_id", rec.MessageId)
			continue
		}
		attempt, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		if attempt < 1 {
			attempt = 1
		}
		out, delay, err := s.Deliver(ctx, m, attempt)
		if err != nil {
			s.Log.ErrorContext(ctx, "delivery failed", "event_id", m.EventID, "endpoint_id", m.EndpointID, "attempt", attempt, "err", err)
		}
		switch {
		case err != nil && out == Done:
			// Delivered (or dropped) but not logged: acknowledged all the same,
			// since sending it again for a log write would be a duplicate.
		case err != nil && out != GiveUp:
			// Our own failure (DynamoDB, Secrets Manager): retried after the
			// queue's visibility timeout.
			blocked[group] = true
			fail(rec.MessageId)
		case out == Retry:
			if derr := s.Queue.Delay(ctx, rec.ReceiptHandle, delay); derr != nil {
				s.Log.ErrorContext(ctx, "delivery backoff not set", "event_id", m.EventID, "err", derr)
			}
			blocked[group], delays[group] = true, delay
			fail(rec.MessageId)
		case out == GiveUp:
			// Visible again at once, so the next receive moves it to the DLQ.
			_ = s.Queue.Delay(ctx, rec.ReceiptHandle, 0)
			blocked[group], delays[group] = true, 0
			fail(rec.MessageId)
		}
	}
	return res, nil
}

// unmarshalList decodes raw items.
func unmarshalList(items []map[string]types.AttributeValue, out any) error {
	return attributevalue.UnmarshalListOfMaps(items, out)
}
