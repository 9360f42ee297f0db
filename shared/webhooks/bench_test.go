package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// event4KiB is a payment_intent.succeeded event of about 4 KiB, shaped like a
// real one: a few metadata keys and many fields the handler does not read.
func event4KiB(id string) []byte {
	pi := paymentIntent("pi_"+id, "succeeded", 100000, map[string]string{"invoice_id": "inv_01", "order": "A-1001", "channel": "web"}, "card")
	pi["shipping"] = map[string]any{"name": "Cafe Uno", "phone": "+15555550100", "address": map[string]any{
		"line1": "1 Market St", "line2": "Suite 100", "city": "San Francisco", "state": "CA", "postal_code": "94105", "country": "US"}}
	pi["payment_method_options"] = map[string]any{"card": map[string]any{"installments": nil, "mandate_options": nil,
		"network": nil, "request_three_d_secure": "automatic"}}
	pi["automatic_payment_methods"] = map[string]any{"enabled": true, "allow_redirects": "always"}
	for _, k := range []string{"application", "application_fee_amount", "canceled_at", "cancellation_reason", "invoice",
		"next_action", "on_behalf_of", "processing", "receipt_email", "review", "setup_future_usage", "source",
		"statement_descriptor", "statement_descriptor_suffix", "transfer_data", "transfer_group"} {
		pi[k] = nil
	}
	pi["capture_method"], pi["confirmation_method"], pi["client_secret"] = "automatic", "automatic", "pi_secret_"+strings.Repeat("x", 24)
	pi["description"] = "Invoice INV-0001 for Cafe Uno"
	ev := event(id, "payment_intent.succeeded", acct, time.Now().Unix(), pi)
	for i := 0; len(ev) < 4096; i++ {
		pi["x_padding_"+itoa(i)] = map[string]any{"id": "obj_" + strings.Repeat("y", 20), "object": "thing", "created": 1795435200, "livemode": false}
		ev = event(id, "payment_intent.succeeded", acct, time.Now().Unix(), pi)
	}
	return ev
}

// BenchmarkVerifyStripe4KiB: what the per-partner URLs do before any I/O: the
// signature check on the raw bytes (one secret, one v1) and one decode into the
// fields used, for a 4,101-byte payment_intent.succeeded event. Target < 25 µs.
// The sub-benchmarks isolate the parts, and "reference" is encoding/json
// decoding the same struct, so a loaded machine can be read as a ratio; each
// also reports cpu-ns/op, the benchmark thread's CPU time (not waiting for a core).
func BenchmarkVerifyStripe4KiB(b *testing.B) {
	body := event4KiB("evt_bench")
	now := time.Now()
	header := sign(body, whsec, now)
	secrets := []string{whsec}
	b.Run("verify+decode", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		reportCPU(b, func() {
			ev, err := webhooks.VerifyStripe(body, header, secrets, now, 0)
			if err != nil || ev.Data.Object.ID == "" || ev.Data.Object.Metadata["invoice_id"] == "" {
				b.Fatal(err)
			}
		})
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		reportCPU(b, func() {
			if err := webhooks.VerifyStripeSignature(body, header, secrets, now, 0); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		reportCPU(b, func() {
			if _, err := webhooks.DecodeStripe(body); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("reference_encoding_json_decode", func(b *testing.B) {
		b.ReportAllocs()
		reportCPU(b, func() {
			var ev webhooks.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkStripeWebhookHandler: the whole handler in-process on the partner's
// Connect URL (routing, cached route and secret, signature, one decode, dedupe +
// payment + invoice in one transaction)
// against DynamoDB Local. Reports p50/p99 latency and events per second.
func BenchmarkStripeWebhookHandler(b *testing.B) {
	// The production secrets cache (60 s; tests default to none), so the
	// partner's webhook secret is read from Secrets Manager once, as in Lambda.
	w := newWorld(b, func(c *app.Config) { c.SecretsCacheTTL = time.Minute })
	invs := stores.Invoices(w.env.Env)
	handler := w.srv.Config.Handler
	bodies := make([][]byte, b.N)
	headers := make([]string, b.N)
	for i := range bodies {
		// Each payment pays its own open invoice: the common path.
		inv, _, err := invs.Create(context.Background(), w.pid, w.cid, invoices.Input{ExternalID: "bench-" + itoa(i), Amount: 100000, Currency: "USD"})
		if err != nil {
			b.Fatal(err)
		}
		md := map[string]string{"invoice_id": inv.ID}
		bodies[i] = event("evt_b"+itoa(i), "payment_intent.succeeded", acct, time.Now().Unix()+int64(i), paymentIntent("pi_b"+itoa(i), "succeeded", 100000, md, "card"))
		headers[i] = sign(bodies[i], whsec, time.Now().Add(time.Minute))
	}
	lat := make([]time.Duration, 0, b.N)
	calls0 := w.writes.n.Load() + w.writes.reads.Load()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/stripe/"+w.pid+"/connect", bytes.NewReader(bodies[i]))
		req.Header.Set("Stripe-Signature", headers[i])
		rec := httptest.NewRecorder()
		t0 := time.Now()
		handler.ServeHTTP(rec, req)
		lat = append(lat, time.Since(t0))
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	total := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(b.N)/total.Seconds(), "events/s")
	b.ReportMetric(float64(w.writes.n.Load()+w.writes.reads.Load()-calls0)/float64(b.N), "ddb_calls/op")
}

// BenchmarkVerifyQualpay4KiB: constant-time HMAC check of a 4 KiB body.
func BenchmarkVerifyQualpay4KiB(b *testing.B) {
	body := event4KiB("evt_qp")
	sig := webhooks.SignQualpay(body, qpSecret)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !webhooks.VerifyQualpay(body, sig, qpSecret) {
			b.Fatal("rejected")
		}
	}
}

// BenchmarkDynamoDBLocalGetItem is the floor under the handler numbers: one
// strongly consistent GetItem round trip to DynamoDB Local on this machine.
func BenchmarkDynamoDBLocalGetItem(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := w.env.Companies.LookupRoute(ctx, "stripe", acct); err != nil {
			b.Fatal(err)
		}
	}
}
