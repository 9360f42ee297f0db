// Package example is the published worked example (four $1,000.00 invoices paid
// by card with $25.00 fees, a $10.00 Stripe Climate contribution, one $3,890.00
// payout) as Stripe events and the balance transactions behind the payout, plus
// BalanceFake: a Stripe API stand-in that serves balance transactions by payout
// and connected account, in pages, and forwards every other call to stripe-mock
// (which has no stateful balance transactions). Tests, the local runner and the
// demo share it, so `make run` can itemise the example's payout.
package example

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// Amounts of the example, in cents.
const (
	InvoiceAmount = 100000 // $1,000.00
	Fee           = 2500   // $25.00 per payment
	Climate       = 1000   // $10.00 contribution
	PayoutAmount  = 4*(InvoiceAmount-Fee) - Climate
	PayoutID      = "po_worked_example"
)

// Event renders a Stripe event (API version 2023-10-16 shape) around obj.
func Event(id, typ, account string, created int64, obj any) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "account": account, "created": created,
		"type": typ, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj},
	})
	return b
}

// BalanceTxn renders a balance transaction (net = amount - fee).
func BalanceTxn(id, typ, category string, amount, fee, created int64, source any) map[string]any {
	return map[string]any{"id": id, "object": "balance_transaction", "type": typ, "reporting_category": category,
		"amount": amount, "fee": fee, "net": amount - fee, "currency": "usd", "created": created,
		"status": "available", "source": source}
}

// Payout renders a Stripe payout object.
func Payout(id, status string, amount int64, arrival time.Time) map[string]any {
	return map[string]any{"id": id, "object": "payout", "amount": amount, "currency": "usd", "status": status,
		"automatic": true, "arrival_date": arrival.Unix(), "created": arrival.Add(-48 * time.Hour).Unix(),
		"statement_descriptor": "STRIPE PAYOUT", "method": "standard", "type": "bank_account"}
}

// WorkedExample returns the example's events, in delivery order, for account:
// per invoice a payment_intent.succeeded (metadata[i] names the invoice, e.g.
// {"invoice_id": "inv_…"} or {"invoice_number": "INV-0001"}) and a
// charge.succeeded; then payout.created, payout.paid and
// payout.reconciliation_completed. txns are the payout's balance transactions
// (newest first, including the payout's own line) for BalanceFake.Set.
func WorkedExample(account string, metadata [4]map[string]string, at time.Time) (events [][]byte, txns []map[string]any) {
	base := at.Add(-time.Hour).Unix()
	for i := 1; i <= 4; i++ {
		pi, ch := fmt.Sprintf("pi_example_%d", i), fmt.Sprintf("ch_example_%d", i)
		events = append(events,
			Event(fmt.Sprintf("evt_example_pi_%d", i), "payment_intent.succeeded", account, base+int64(i), map[string]any{
				"id": pi, "object": "payment_intent", "amount": InvoiceAmount, "amount_received": InvoiceAmount, "currency": "usd",
				"status": "succeeded", "customer": fmt.Sprintf("cus_example_%d", i), "metadata": metadata[i-1],
				"payment_method_types": []string{"card"}, "latest_charge": ch, "created": base}),
			Event(fmt.Sprintf("evt_example_ch_%d", i), "charge.succeeded", account, base+int64(i), map[string]any{
				"id": ch, "object": "charge", "amount": InvoiceAmount, "currency": "usd", "paid": true, "status": "succeeded",
				"payment_intent": pi, "balance_transaction": fmt.Sprintf("txn_example_ch_%d", i),
				"payment_method_details": map[string]any{"type": "card"}}))
		txns = append([]map[string]any{BalanceTxn(fmt.Sprintf("txn_example_ch_%d", i), "charge", "charge", InvoiceAmount, Fee, base+int64(i),
			map[string]any{"id": ch, "object": "charge", "amount": InvoiceAmount, "currency": "usd", "payment_intent": pi})}, txns...)
	}
	txns = append([]map[string]any{
		BalanceTxn("txn_example_payout", "payout", "payout", -PayoutAmount, 0, base+20, map[string]any{"id": PayoutID, "object": "payout"}),
		BalanceTxn("txn_example_climate", "contribution", "contribution", -Climate, 0, base+5, "ctrib_example"),
	}, txns...)
	arrival := time.Unix(base, 0).UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	events = append(events,
		Event("evt_example_po_created", "payout.created", account, base+10, Payout(PayoutID, "pending", PayoutAmount, arrival)),
		Event("evt_example_po_paid", "payout.paid", account, base+20, Payout(PayoutID, "paid", PayoutAmount, arrival)),
		Event("evt_example_po_reconciled", "payout.reconciliation_completed", account, base+30, Payout(PayoutID, "paid", PayoutAmount, arrival)))
	return events, txns
}

// BalanceFake serves GET /v1/balance_transactions?payout=… for the payouts it
// holds (checking the Stripe-Account header and expand[]=data.source), paging
// with starting_after; every other request goes to the upstream (stripe-mock).
type BalanceFake struct {
	PageSize int // at most this many lines per page (0: Stripe's limit alone); NewBalanceFake sets 2 so paging is always exercised

	proxy   *httputil.ReverseProxy
	mu      sync.Mutex
	txns    map[string][]map[string]any // payout -> newest first
	acct    map[string]string           // payout -> connected account
	refused map[string]bool
	calls   []string
}

// NewBalanceFake forwards what it does not serve to upstream.
func NewBalanceFake(upstream string) (*BalanceFake, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("example: bad upstream %q", upstream)
	}
	return &BalanceFake{PageSize: 2, proxy: httputil.NewSingleHostReverseProxy(u), txns: map[string][]map[string]any{}, acct: map[string]string{}, refused: map[string]bool{}}, nil
}

// Set makes payout (on account) list txns.
func (f *BalanceFake) Set(account, payout string, txns []map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.txns[payout], f.acct[payout] = txns, account
}

// Refuse makes listing payout's lines fail the way Stripe refuses a manual payout (400).
func (f *BalanceFake) Refuse(account, payout string) {
	f.Set(account, payout, nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused[payout] = true
}

// Calls lists the balance transaction requests served ("<query> account=<acct>").
func (f *BalanceFake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *BalanceFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/balance_transactions" || r.URL.Query().Get("payout") == "" {
		f.proxy.ServeHTTP(w, r)
		return
	}
	q := r.URL.Query()
	po, account := q.Get("payout"), r.Header.Get("Stripe-Account")
	f.mu.Lock()
	list, ok := f.txns[po]
	owner, refused := f.acct[po], f.refused[po]
	if ok {
		f.calls = append(f.calls, r.URL.RawQuery+" account="+account)
	}
	f.mu.Unlock()
	if !ok {
		f.proxy.ServeHTTP(w, r) // unknown payouts: stripe-mock's fixture
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if owner != account {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payout: '%s'"}}`, po)
		return
	}
	if refused {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"parameter_invalid","message":"Balance transaction history can only be filtered on automatic transfers, not manual."}}`)
		return
	}
	if q.Get("expand[]") != "data.source" && q.Get("expand[0]") != "data.source" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"expected expand[]=data.source"}}`)
		return
	}
	start := 0
	if after := q.Get("starting_after"); after != "" {
		for i, tx := range list {
			if tx["id"] == after {
				start = i + 1
			}
		}
	}
	// Stripe's list limit: 1 to 100, default 10; anything else is a 400
	// (https://docs.stripe.com/api/pagination). PageSize, when set, caps it
	// further so tests exercise paging.
	size := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"limit","message":"Invalid integer: limit must be between 1 and 100"}}`)
			return
		}
		size = n
	}
	if f.PageSize > 0 {
		size = min(size, f.PageSize)
	}
	end := min(start+size, len(list))
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/balance_transactions",
		"has_more": end < len(list), "data": list[start:end]})
}

// Run plays the example against a running API (the local runner, a test
// server): it creates the four invoices for companyID with apiKey, registers
// the payout's balance transactions on fake, and posts the signed events to
// baseURL/stripe. It returns the invoice IDs.
func Run(ctx context.Context, hc *http.Client, baseURL, apiKey, companyID, account, webhookSecret string, fake *BalanceFake, now time.Time) ([]string, error) {
	var ids []string
	var md [4]map[string]string
	for i := 1; i <= 4; i++ {
		body, _ := json.Marshal(map[string]any{"external_id": fmt.Sprintf("example-%d", i), "number": fmt.Sprintf("INV-000%d", i),
			"customer": fmt.Sprintf("Customer %d", i), "amount": InvoiceAmount, "currency": "USD",
			"issued_at": now.AddDate(0, 0, -30).Format(time.DateOnly), "due_at": now.Format(time.DateOnly)})
		var inv struct {
			ID string `json:"id"`
		}
		if err := send(ctx, hc, baseURL+"/v1/companies/"+companyID+"/invoices", body, "Authorization", "Bearer "+apiKey, &inv); err != nil {
			return nil, fmt.Errorf("create invoice %d: %w", i, err)
		}
		ids = append(ids, inv.ID)
		md[i-1] = map[string]string{"invoice_id": inv.ID}
	}
	events, txns := WorkedExample(account, md, now)
	fake.Set(account, PayoutID, txns)
	for _, ev := range events {
		sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: ev, Secret: webhookSecret, Timestamp: time.Now()}).Header
		if err := send(ctx, hc, baseURL+"/stripe", ev, "Stripe-Signature", sig, nil); err != nil {
			return nil, fmt.Errorf("deliver event: %w", err)
		}
	}
	return ids, nil
}

func send(ctx context.Context, hc *http.Client, u string, body []byte, header, value string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(header, value)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", u, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
