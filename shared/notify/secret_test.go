package notify_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/secrets"
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

// Concurrent rolls: every secret answered to the partner (shown once) signs
// afterwards; a roll that cannot be honoured answers 409 instead. Three rolls
// at most can succeed, and three secrets are kept, so none may be missing.
func TestConcurrentRollsLoseNoSecret(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ep := w.endpoint("http://127.0.0.1:9/hook", outbox.InvoicePaid)
	for round := 0; round < 3; round++ {
		var mu sync.Mutex
		var answered []string
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := w.svc.RollSecret(ctx, w.pid, ep.ID)
				switch {
				case err == nil:
					mu.Lock()
					answered = append(answered, c.Secret)
					mu.Unlock()
				case !apperr.Is(err, apperr.Conflict):
					t.Errorf("roll: %v", err)
				}
			}()
		}
		wg.Wait()
		raw, err := w.env.Secrets.Get(ctx, secrets.Name(w.env.Cfg.Stage, w.pid, "webhook-endpoints/"+ep.ID))
		if err != nil {
			t.Fatal(err)
		}
		active, err := notify.ActiveSecrets(raw, w.env.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(answered) == 0 {
			t.Fatalf("round %d: every roll refused", round)
		}
		for _, sec := range answered {
			if !slices.Contains(active, sec) {
				t.Fatalf("round %d: %d rolls answered, a secret shown to the partner does not sign (%d active)", round, len(answered), len(active))
			}
		}
	}
}
