// Package notifyfn builds the three notification functions (issue 20): the
// endpoints and events API (notifications), the relay that fans outbox events
// out to the delivery queue (notifications-relay: DynamoDB stream + a sweep
// every 5 minutes) and the sender (notifications-sender: the SQS FIFO queue).
package notifyfn

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/notify"
)

// Policy is the endpoint URL policy of this deployment: loopback http only
// when the config allows it (a local stack), never in AWS.
func Policy(e *app.Env) notify.URLPolicy {
	return notify.URLPolicy{AllowLoopbackHTTP: e.Cfg.WebhookAllowLoopback}
}

// Queue is the delivery queue, nil when NOTIFY_QUEUE_URL is not set.
func Queue(e *app.Env) *notify.SQSQueue {
	if e.Cfg.NotifyQueueURL == "" {
		return nil
	}
	return &notify.SQSQueue{API: sqsclient.New(e), URL: e.Cfg.NotifyQueueURL}
}

// Service is the endpoints/events service over the Env.
func Service(e *app.Env) *notify.Service { return service(e, Queue(e)) }

// service is the service with q for resend and replay (nil: those answer 503).
func service(e *app.Env, q *notify.SQSQueue) *notify.Service {
	smclient.Use(e) // endpoint signing secrets
	s := &notify.Service{Store: e.Store, Secrets: e.Secrets, IDs: e.IDs, Now: e.Now, Rand: rand.Reader,
		Stage: e.Cfg.Stage, Policy: Policy(e), Log: e.Log}
	if q != nil { // never a typed nil in the interface
		s.Queue = q
	}
	return s
}

// Handler serves /v1/webhook-endpoints… and /v1/events….
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	notify.Routes(r, Service(e))
	return r.Handler()
}

// Relay is the fan-out over the Env's delivery queue.
func Relay(e *app.Env, q notify.Enqueuer) *notify.Relay {
	return &notify.Relay{Store: e.Store, Queue: q, Now: e.Now, Log: e.Log}
}

// RelayEntry is the relay function's Lambda handler: stream records, or the
// scheduled sweep (any other input).
func RelayEntry(e *app.Env) (any, error) {
	q := Queue(e)
	if q == nil {
		return nil, errors.New("NOTIFY_QUEUE_URL is not set")
	}
	r := Relay(e, q)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if app.Trigger(raw) == "aws:dynamodb" {
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			return r.HandleStream(ctx, ev)
		}
		return r.Sweep(ctx)
	}, nil
}

// Sender is the delivery sender over the Env. Its service never resends or
// replays, so it gets no queue: one SQS client (q's) at cold start, not two.
func Sender(e *app.Env, q notify.Visibility) *notify.Sender {
	return &notify.Sender{Svc: service(e, nil), HTTP: notify.NewHTTPClient(Policy(e)), Queue: q, Now: e.Now,
		Rand: notify.RandFloat, Log: e.Log}
}

// SenderEntry is the sender function's Lambda handler (SQS FIFO, ReportBatchItemFailures).
func SenderEntry(e *app.Env) (any, error) {
	q := Queue(e)
	if q == nil {
		return nil, errors.New("NOTIFY_QUEUE_URL is not set")
	}
	return Sender(e, q).HandleSQS, nil
}
