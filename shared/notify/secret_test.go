package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
)

// A rolled secret: for 24 h every delivery carries one signature per secret,
// so the partner's verifier passes with the old secret or the new one; after
// the overlap only the new one verifies. The clock is passed in.
func TestRolledSecretOverlap(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rec, srv := newReceiver(t)
	ep := w.endpoint(srv.URL, outbox.InvoicePaid)
	t0 := w.env.Now()
	w.svc.Now = func() time.Time { return t0 }
	rolled, err := w.svc.RollSecret(ctx, w.pid, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rolled.Secret == ep.Secret || !strings.HasPrefix(rolled.Secret, notify.SecretPrefix) {
		t.Fatalf("rolled secret %q", rolled.Secret[:6])
	}
	deliverAt := func(at time.Time) delivery {
		w.sender.Now = func() time.Time { return at }
		ev := w.emit(outbox.InvoicePaid, "inv_"+at.Format("150405"), map[string]string{"id": "inv"})
		if out, _, err := w.sender.Deliver(ctx, notify.Message{EventID: ev.ID, PartnerID: w.pid, EndpointID: ep.ID, ObjectID: "inv"}, 1); err != nil || out != notify.Done {
			t.Fatalf("deliver: %v %v", out, err)
		}
		got := rec.deliveries()
		return got[len(got)-1]
	}
	verifies := func(d delivery, secret string) bool {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", d.id)
		h.Set("webhook-timestamp", d.ts)
		h.Set("webhook-signature", d.sig)
		// The reference verifier checks the timestamp against the real clock;
		// the deliveries here are signed at a passed-in time.
		return wh.VerifyIgnoringTimestamp(d.body, h) == nil
	}
	during := deliverAt(t0.Add(23 * time.Hour))
	if n := len(strings.Fields(during.sig)); n != 2 {
		t.Fatalf("%d signatures during the overlap, want 2", n)
	}
	if !verifies(during, ep.Secret) || !verifies(during, rolled.Secret) {
		t.Fatal("during the overlap both the old and the new secret must verify")
	}
	after := deliverAt(t0.Add(24*time.Hour + time.Second))
	if n := len(strings.Fields(after.sig)); n != 1 {
		t.Fatalf("%d signatures after the overlap, want 1", n)
	}
	if verifies(after, ep.Secret) || !verifies(after, rolled.Secret) {
		t.Fatal("after the overlap only the new secret may verify")
	}
}
