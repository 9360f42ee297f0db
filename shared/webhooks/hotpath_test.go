package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
)

// awsMeter is an http.RoundTripper under the AWS SDK clients: it counts
// DynamoDB round trips (every attempt the SDK puts on the wire), the items
// written by successful writes, and Secrets Manager round trips.
type awsMeter struct {
	next http.RoundTripper
	mu   sync.Mutex
	// ops counts DynamoDB round trips by operation ("GetItem", "TransactWriteItems", …).
	ops     map[string]int
	written int // items in write operations
	secrets int // Secrets Manager round trips
}

func (m *awsMeter) RoundTrip(r *http.Request) (*http.Response, error) {
	service, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if strings.HasPrefix(service, "secretsmanager") {
		m.mu.Lock()
		m.secrets++
		m.mu.Unlock()
	}
	if r.Body == nil || !strings.HasPrefix(service, "DynamoDB") {
		return m.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in struct {
		TransactItems []json.RawMessage
		RequestItems  map[string][]json.RawMessage
	}
	_ = json.Unmarshal(body, &in)
	items := 0
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		items = 1
	case "TransactWriteItems":
		items = len(in.TransactItems)
	case "BatchWriteItem":
		for _, reqs := range in.RequestItems {
			items += len(reqs)
		}
	}
	res, err := m.next.RoundTrip(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops[op]++
	if err == nil && res.StatusCode == http.StatusOK {
		m.written += items // written: the request succeeded (a failed condition writes nothing)
	}
	return res, err
}

func (m *awsMeter) snapshot() (roundTrips, written, secrets int, ops map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ops = map[string]int{}
	for k, v := range m.ops {
		ops[k] = v
		roundTrips += v
	}
	return roundTrips, m.written, m.secrets, ops
}

// TestWebhookHotPathRoundTrips: with a warm Lambda's caches (route, 60 s
// secrets), a new payment event costs no Secrets Manager call and, counted at
// the AWS SDK's HTTP layer, on the partner's Connect URL and on the shared URL:
//   - paying its open invoice by our ID: 1 DynamoDB round trip (one
//     transaction, written without reading the invoice: its condition is the
//     common case, an untouched open invoice of the payment's amount and
//     currency) and 2 items: the payment, which records the event ID as the
//     dedupe, and the invoice, which holds the payment's link and the marker
//     of its invoice.paid event (the relay writes the event item later, from
//     the table's stream: it is not part of the request);
//   - a bank debit settling (succeeded after its processing event): the same,
//     guessing that invoice with this payment's processing link on it;
//   - when the guess does not hold (a partial payment, a second instalment):
//     1 + 2 round trips (the refused transaction, then the invoice read and the
//     transaction of the read path) and still 2 items;
//   - naming no invoice: 1 round trip (the transaction, guarded on the payment
//     having no invoice an earlier event named; when it has one, the guard
//     fails and the event is planned again with the read) and 1 item;
//   - the payment's charge.succeeded, before or after: 1 round trip, 1 item.
//
// A redelivery is a duplicate: 2 round trips (the refused transaction, the
// consistent read that confirms the event ID is recorded), nothing written.
func TestWebhookHotPathRoundTrips(t *testing.T) {
	meter := &awsMeter{next: http.DefaultTransport, ops: map[string]int{}}
	w := newWorld(t, func(c *app.Config) {
		c.AWSTransport = meter
		c.SecretsCacheTTL = time.Minute // production's cache; tests default to none
	})
	invs := stores.Invoices(w.env.Env)
	ctx := context.Background()
	const n = 4
	ids := make([]string, n+1)
	for i := range ids {
		inv, _, err := invs.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: "hot-" + itoa(i), Amount: 100000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = inv.ID
	}
	connectURL := w.srv.URL + "/stripe/" + w.pid + "/connect"
	send := func(t *testing.T, url, evID, typ, piID, status string, amount int64, md map[string]string, method string) resp {
		t.Helper()
		body := event(evID, typ, acct, time.Now().Unix(), paymentIntent(piID, status, amount, md, method))
		r := post(t, url, body, "Stripe-Signature", sign(body, whsec, time.Now()))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return r
	}
	pay := func(t *testing.T, url string, i int) {
		t.Helper()
		if r := send(t, url, "evt_hot"+itoa(i), "payment_intent.succeeded", "pi_hot"+itoa(i), "succeeded", 100000,
			map[string]string{"invoice_id": ids[i]}, "card"); r.res.Outcome != "applied" {
			t.Fatalf("%s", r.body)
		}
	}
	// measure runs fn and checks its DynamoDB round trips and items written.
	measure := func(t *testing.T, wantRT, wantItems int, fn func()) map[string]int {
		t.Helper()
		rt0, wr0, sm0, ops0 := meter.snapshot()
		fn()
		rt1, wr1, sm1, ops1 := meter.snapshot()
		if rt1-rt0 != wantRT || wr1-wr0 != wantItems {
			t.Errorf("%d DynamoDB round trips and %d items written, want %d and %d (%v -> %v)", rt1-rt0, wr1-wr0, wantRT, wantItems, ops0, ops1)
		}
		if sm1 != sm0 {
			t.Errorf("%d Secrets Manager round trips on the warm path", sm1-sm0)
		}
		diff := map[string]int{}
		for k, v := range ops1 {
			if d := v - ops0[k]; d != 0 {
				diff[k] = d
			}
		}
		return diff
	}
	pay(t, connectURL, 0) // warm: the route and the secret are loaded once
	for _, tc := range []struct {
		name, url string
		from, to  int
	}{{"partner Connect URL", connectURL, 1, 3}, {"shared URL", w.srv.URL + "/stripe", 3, n + 1}} {
		t.Run(tc.name, func(t *testing.T) {
			events := tc.to - tc.from
			ops := measure(t, events, 2*events, func() {
				for i := tc.from; i < tc.to; i++ {
					pay(t, tc.url, i)
				}
			})
			if ops["TransactWriteItems"] != events || len(ops) != 1 {
				t.Errorf("operations %v for %d events, want one transaction each and nothing else", ops, events)
			}
		})
	}
	for i := range ids {
		inv, err := invs.Get(ctx, w.pid, w.cid, ids[i])
		if err != nil || inv.Status != invoices.StatusPaid || inv.AmountPaid != 100000 || inv.EventType != "invoice.paid" {
			t.Fatalf("invoice %d: %s %d %q %v", i, inv.Status, inv.AmountPaid, inv.EventType, err)
		}
	}
	// The guess does not hold: the refused transaction, then the read path.
	t.Run("partial payment: the read path after the guess", func(t *testing.T) {
		inv, _, err := invs.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: "hot-part", Amount: 100000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		md := map[string]string{"invoice_id": inv.ID}
		const k = 2 // two instalments: neither is the untouched full-amount case
		ops := measure(t, k*(1+2), k*2, func() {
			send(t, connectURL, "evt_hot_part1", "payment_intent.succeeded", "pi_hot_part1", "succeeded", 60000, md, "card")
			send(t, connectURL, "evt_hot_part2", "payment_intent.succeeded", "pi_hot_part2", "succeeded", 40000, md, "card")
		})
		if ops["BatchGetItem"] != k || ops["TransactWriteItems"] != 2*k || len(ops) != 2 {
			t.Errorf("operations %v, want per event a refused transaction, one read of the invoice and the payment, and a transaction", ops)
		}
		if got, _ := invs.Get(ctx, w.pid, w.cid, inv.ID); got.Status != invoices.StatusPaid || got.AmountPaid != 100000 || len(got.Pays) != 2 {
			t.Fatalf("invoice after two instalments: %s %d %d links", got.Status, got.AmountPaid, len(got.Pays))
		}
	})
	t.Run("ACH: processing, then succeeded days later, both unread", func(t *testing.T) {
		inv, _, err := invs.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: "hot-ach", Amount: 100000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		md := map[string]string{"invoice_id": inv.ID}
		measure(t, 1, 2, func() {
			send(t, connectURL, "evt_hot_ach1", "payment_intent.processing", "pi_hot_ach", "processing", 100000, md, "us_bank_account")
		})
		measure(t, 1, 2, func() { // guessed: this payment's processing link is all the invoice has
			send(t, connectURL, "evt_hot_ach2", "payment_intent.succeeded", "pi_hot_ach", "succeeded", 100000, md, "us_bank_account")
		})
		if got, _ := invs.Get(ctx, w.pid, w.cid, inv.ID); got.Status != invoices.StatusPaid || got.AmountPaid != 100000 || got.AmountProcessing != 0 {
			t.Fatalf("invoice after the ACH payment settled: %s %d %d", got.Status, got.AmountPaid, got.AmountProcessing)
		}
	})
	// A card payment's other event: charge.succeeded, which carries no invoice
	// metadata. Before or after the payment_intent.succeeded, it is planned
	// without reading (guarded on the payment having no invoice or already
	// recording this charge) and writes the payment only.
	t.Run("charge.succeeded beside its payment_intent.succeeded: one round trip each", func(t *testing.T) {
		inv, _, err := invs.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: "hot-charge", Amount: 100000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		chargeOf := func(evID, pi string) {
			t.Helper()
			body := event(evID, "charge.succeeded", acct, time.Now().Unix(), map[string]any{"id": "ch_" + pi[3:], "object": "charge",
				"amount": 100000, "currency": "usd", "payment_intent": pi, "status": "succeeded", "customer": "cus_" + pi[3:],
				"payment_method_details": map[string]any{"type": "card"}, "balance_transaction": "txn_" + pi[3:]})
			if r := post(t, connectURL, body, "Stripe-Signature", sign(body, whsec, time.Now())); r.status != 200 || r.res.Outcome != "applied" {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}
		md := map[string]string{"invoice_id": inv.ID}
		measure(t, 1, 2, func() {
			send(t, connectURL, "evt_hot_pi_a", "payment_intent.succeeded", "pi_hot_cha", "succeeded", 100000, md, "card")
		})
		measure(t, 1, 1, func() { chargeOf("evt_hot_ch_a", "pi_hot_cha") }) // after
		other, _, err := invs.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: "hot-charge-b", Amount: 100000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		measure(t, 1, 1, func() { chargeOf("evt_hot_ch_b", "pi_hot_chb") }) // before
		measure(t, 1, 2, func() {
			send(t, connectURL, "evt_hot_pi_b", "payment_intent.succeeded", "pi_hot_chb", "succeeded", 100000, map[string]string{"invoice_id": other.ID}, "card")
		})
		for _, id := range []string{inv.ID, other.ID} {
			if got, _ := invs.Get(ctx, w.pid, w.cid, id); got.Status != invoices.StatusPaid || got.AmountPaid != 100000 || len(got.Pays) != 1 {
				t.Fatalf("invoice %s: %s %d %v", id, got.Status, got.AmountPaid, got.Pays)
			}
		}
	})
	// The charge's guard fails when the payment records something else (here
	// a refund first): planned again with the read, the invoice follows.
	t.Run("charge.succeeded after a refund: guard, then the read path", func(t *testing.T) {
		inv, _, err := invs.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: "hot-charge-r", Amount: 100000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		send(t, connectURL, "evt_hot_pi_r", "payment_intent.succeeded", "pi_hot_chr", "succeeded", 100000, map[string]string{"invoice_id": inv.ID}, "card")
		refund := event("evt_hot_rf_r", "charge.refunded", acct, time.Now().Unix(), map[string]any{"id": "ch_hot_chr", "object": "charge",
			"amount": 100000, "amount_refunded": 100000, "refunded": true, "currency": "usd", "payment_intent": "pi_hot_chr"})
		if r := post(t, connectURL, refund, "Stripe-Signature", sign(refund, whsec, time.Now())); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		late := event("evt_hot_ch_r", "charge.succeeded", acct, time.Now().Unix()-60, map[string]any{"id": "ch_hot_chr", "object": "charge",
			"amount": 100000, "currency": "usd", "payment_intent": "pi_hot_chr", "status": "succeeded"})
		rt0, _, _, _ := meter.snapshot()
		if r := post(t, connectURL, late, "Stripe-Signature", sign(late, whsec, time.Now())); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if rt1, _, _, _ := meter.snapshot(); rt1-rt0 < 3 {
			t.Fatalf("%d round trips: the guard did not fail", rt1-rt0)
		}
		if got, _ := invs.Get(ctx, w.pid, w.cid, inv.ID); got.Status != invoices.StatusOpen || got.AmountPaid != 0 {
			t.Fatalf("refunded invoice after a late charge.succeeded: %s %d", got.Status, got.AmountPaid)
		}
	})
	t.Run("no invoice: one round trip, one item", func(t *testing.T) {
		rt0, wr0, _, _ := meter.snapshot()
		body := event("evt_hot_noinv", "payment_intent.succeeded", acct, time.Now().Unix(),
			paymentIntent("pi_hot_noinv", "succeeded", 100000, nil, "card"))
		if r := post(t, connectURL, body, "Stripe-Signature", sign(body, whsec, time.Now())); r.status != 200 || r.res.Outcome != "applied" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if rt1, wr1, _, _ := meter.snapshot(); rt1-rt0 != 1 || wr1-wr0 != 1 {
			t.Fatalf("%d round trips, %d items; want 1 and 1", rt1-rt0, wr1-wr0)
		}
	})
	// The optimistic plan's guard: an earlier event linked the payment to an
	// invoice, a later one names none (the partner cleared the metadata). The
	// guarded write fails, the event is planned again with the read, and the
	// invoice still follows the money, once.
	t.Run("no invoice named, payment linked earlier: guard, then the read path", func(t *testing.T) {
		inv0, _, err := invs.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: "hot-link", Amount: 100000, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		first := event("evt_hot_link2", "payment_intent.processing", acct, time.Now().Unix()-4,
			paymentIntent("pi_hot_link2", "processing", 100000, map[string]string{"invoice_id": inv0.ID}, "us_bank_account"))
		if r := post(t, connectURL, first, "Stripe-Signature", sign(first, whsec, time.Now())); r.status != 200 || r.res.Outcome != "applied" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		rt0, _, _, _ := meter.snapshot()
		later := event("evt_hot_link3", "payment_intent.succeeded", acct, time.Now().Unix(),
			paymentIntent("pi_hot_link2", "succeeded", 100000, nil, "us_bank_account"))
		if r := post(t, connectURL, later, "Stripe-Signature", sign(later, whsec, time.Now())); r.status != 200 || r.res.Outcome != "applied" {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if rt1, _, _, _ := meter.snapshot(); rt1-rt0 < 3 {
			t.Fatalf("%d round trips: the guard did not fail, so the linked payment was not re-read", rt1-rt0)
		}
		inv, err := invs.Get(ctx, w.pid, w.cid, inv0.ID)
		if err != nil || inv.Status != invoices.StatusPaid || inv.AmountPaid != 100000 {
			t.Fatalf("invoice after the succeeded event naming none: %s %d %v", inv.Status, inv.AmountPaid, err)
		}
	})
	t.Run("redelivery: a duplicate, nothing written", func(t *testing.T) {
		var r resp
		measure(t, 2, 0, func() {
			body := event("evt_hot1", "payment_intent.succeeded", acct, time.Now().Unix(),
				paymentIntent("pi_hot1", "succeeded", 100000, map[string]string{"invoice_id": ids[1]}, "card"))
			r = post(t, connectURL, body, "Stripe-Signature", sign(body, whsec, time.Now()))
		})
		if r.status != 200 || !r.res.Duplicate {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if inv, _ := invs.Get(ctx, w.pid, w.cid, ids[1]); inv.AmountPaid != 100000 {
			t.Fatalf("invoice paid twice: %d", inv.AmountPaid)
		}
	})
}
