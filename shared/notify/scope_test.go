package notify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
)

// Another partner's endpoint and event IDs are not found on any route, and a
// resend of one's own event cannot name another partner's endpoint.
func TestAnotherPartnersIDs(t *testing.T) {
	w := newWorld(t)
	srv := w.env.Server("notifications")
	rec, rcv := newReceiver(t)
	ep := w.endpoint(rcv.URL, outbox.InvoicePaid)
	ev := w.emit(outbox.InvoicePaid, "inv_5", map[string]string{"id": "inv_5"})
	otherPID, otherKey := w.env.Partner("Other")
	url := "http://127.0.0.1:9/other"
	types := []string{outbox.InvoicePaid}
	otherEP, err := w.svc.Create(context.Background(), otherPID, notify.EndpointInput{URL: &url, Events: &types})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"roll", "POST", "/v1/webhook-endpoints/" + ep.ID + "/roll-secret", nil, 404},
		{"replay", "POST", "/v1/webhook-endpoints/" + ep.ID + "/replay", map[string]any{"since": ev.Created.Add(-1e9)}, 404},
		{"deliveries", "GET", "/v1/events/" + ev.ID + "/deliveries", nil, 404},
		{"resend", "POST", "/v1/events/" + ev.ID + "/resend", nil, 404},
		{"resend to the owner's endpoint", "POST", "/v1/events/" + ev.ID + "/resend", map[string]any{"endpoint_id": ep.ID}, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := testenv.Do(t, tc.method, srv.URL+tc.path, otherKey, tc.body); r.Status != tc.want {
				t.Fatalf("%s %s by another partner: %d %s", tc.method, tc.path, r.Status, r.Body)
			}
		})
	}
	t.Run("resend of one's event to another's endpoint", func(t *testing.T) {
		r := testenv.Do(t, "POST", srv.URL+"/v1/events/"+ev.ID+"/resend", w.key, map[string]any{"endpoint_id": otherEP.ID})
		if r.Status != 422 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	if n, err := w.poller.Once(context.Background()); err != nil || n != 0 || len(rec.deliveries()) != 0 {
		t.Fatalf("something was queued: %d %v %d", n, err, len(rec.deliveries()))
	}
}

// Resend and replay are bounded per call and, in a loop, by the partner's
// hourly quota: over it they answer 429 and queue nothing.
func TestRedeliveryQuota(t *testing.T) {
	w := newWorld(t)
	w.svc.RedeliveriesPerHour = 3
	ctx := context.Background()
	_, rcv := newReceiver(t)
	ep := w.endpoint(rcv.URL, outbox.InvoicePaid)
	ev := w.emit(outbox.InvoicePaid, "inv_6", map[string]string{"id": "inv_6"})
	w.emit(outbox.InvoicePaid, "inv_6", map[string]string{"id": "inv_6"})
	for i := 0; i < 3; i++ {
		if _, err := w.svc.Resend(ctx, w.pid, ev.ID, ""); err != nil {
			t.Fatalf("resend %d: %v", i+1, err)
		}
	}
	_, err := w.svc.Resend(ctx, w.pid, ev.ID, "")
	if !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("4th resend in the hour: %v, want rate_limited", err)
	}
	if e, _ := apperr.As(err); e.RetryAfter < 1 || e.RetryAfter > 3601 {
		t.Fatalf("Retry-After %d s, want the rest of the clock hour", e.RetryAfter)
	}
	if _, err := w.svc.Replay(ctx, w.pid, ep.ID, ev.Created.Add(-1e9), w.env.Now()); !apperr.Is(err, apperr.RateLimited) || !strings.Contains(err.Error(), "an hour") {
		t.Fatalf("replay over the quota: %v", err)
	}
	for n := 0; ; n++ {
		got, err := w.poller.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			if n != 3 {
				t.Fatalf("%d deliveries queued, want 3", n)
			}
			break
		}
	}
}
