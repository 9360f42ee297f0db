package splits_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/splits"
	"github.com/payrecon/payrecon/shared/store"
)

// transferFake is a stateful Stripe for /v1/transfers (idempotency keys, lists by
// transfer_group, refusals, outages); everything else goes to stripe-mock.
type transferFake struct {
	srv       *httptest.Server
	mu        sync.Mutex
	byKey     map[string]map[string]any // idempotency key -> transfer
	transfers []map[string]any
	posts     int
	refuse    map[string]bool // destination -> 400 account_invalid
	outage    int             // next N POSTs answer 500
}

func newTransferFake(t *testing.T) *transferFake {
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := url.Parse(st.StripeURL)
	proxy := httputil.NewSingleHostReverseProxy(up)
	f := &transferFake{byKey: map[string]map[string]any{}, refuse: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/transfers" {
			proxy.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			group := r.URL.Query().Get("transfer_group")
			data := []map[string]any{}
			for i := len(f.transfers) - 1; i >= 0; i-- {
				if f.transfers[i]["transfer_group"] == group {
					data = append(data, f.transfers[i])
				}
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "url": "/v1/transfers", "has_more": false, "data": data})
			return
		}
		f.posts++
		if f.outage > 0 {
			f.outage--
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"error":{"type":"api_error","message":"outage"}}`))
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if t, ok := f.byKey[key]; ok && key != "" {
			w.Header().Set("Idempotent-Replayed", "true")
			_ = json.NewEncoder(w).Encode(t)
			return
		}
		_ = r.ParseForm()
		if f.refuse[r.PostForm.Get("destination")] {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"account_invalid","message":"The destination account cannot receive transfers."}}`))
			return
		}
		md := map[string]string{}
		for k, v := range r.PostForm {
			if strings.HasPrefix(k, "metadata[") {
				md[strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")] = v[0]
			}
		}
		var amount int64
		_, _ = fmt.Sscan(r.PostForm.Get("amount"), &amount)
		tr := map[string]any{
			"id": fmt.Sprintf("tr_fake%04d", len(f.transfers)+1), "object": "transfer", "amount": amount,
			"currency": r.PostForm.Get("currency"), "destination": r.PostForm.Get("destination"),
			"transfer_group": r.PostForm.Get("transfer_group"), "metadata": md,
		}
		f.transfers = append(f.transfers, tr)
		f.byKey[key] = tr
		_ = json.NewEncoder(w).Encode(tr)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *transferFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.transfers)
}

func (f *transferFake) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// faultyDB fails the next n UpdateItem calls: the crash between a transfer and
// its status write.
type faultyDB struct {
	store.API
	n atomic.Int64
}

func (d *faultyDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if d.n.Add(-1) >= 0 {
		return nil, errors.New("simulated crash before the status write")
	}
	return d.API.UpdateItem(ctx, in, o...)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// crashy returns the world's splits service over a DB that can fail updates, on a test clock.
func crashy(w *world) (*splits.Service, *faultyDB, *clock) {
	db := &faultyDB{API: w.env.Store.DB}
	svc := *splitsfn.Service(w.env.Env)
	svc.Store = &splits.Store{DB: &store.Store{DB: db, Table: w.env.Store.Table}}
	c := &clock{t: time.Now().UTC()}
	svc.Now = c.Now
	return &svc, db, c
}

func TestTransfers(t *testing.T) {
	fake := newTransferFake(t)
	w := newWorld(t, func(c *app.Config) { c.StripeAPIURL = fake.srv.URL })
	ctx := context.Background()
	newIntent := func() string {
		id, items := w.intent(`{"currency":"EUR","items":[{"name":"Enrolment","amount":150000}]}`)
		w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "percentage": 0.65, "item": items[0], "partnership": w.school, "payment_intent": id})
		w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 52500, "item": items[0], "partnership": w.agent, "payment_intent": id})
		return id
	}
	md := func(id string) map[string]string { return map[string]string{"payrecon_intent": id} }

	t.Run("retry after a crash between transfer and status write pays once", func(t *testing.T) {
		id := newIntent()
		svc, db, _ := crashy(w)
		before := fake.count()
		db.n.Store(2)
		if err := svc.PaymentSucceeded(ctx, w.d.PartnerID, w.d.CompanyID, "pi_crash_1", md(id), 150000, "EUR"); err == nil {
			t.Fatal("the lost status writes must make the hook fail so the delivery is retried")
		}
		if got := fake.count() - before; got != 2 {
			t.Fatalf("%d transfers, want 2", got)
		}
		for _, p := range w.payouts(id).Payees {
			if p.Status != splits.SplitPending || p.Pending != p.Amount {
				t.Fatalf("after the crash: %+v", p)
			}
		}
		if err := svc.PaymentSucceeded(ctx, w.d.PartnerID, w.d.CompanyID, "pi_crash_1", md(id), 150000, "EUR"); err != nil {
			t.Fatal(err)
		}
		if got := fake.count() - before; got != 2 {
			t.Fatalf("retry created transfers: %d, want 2", got)
		}
		for _, p := range w.payouts(id).Payees {
			if p.Status != splits.SplitPaid || len(p.Transfers) != 1 || !strings.HasPrefix(p.Transfers[0].TransferID, "tr_fake") {
				t.Fatalf("after the retry: %+v", p)
			}
		}
	})

	t.Run("a retry after the idempotency window adopts the earlier transfer", func(t *testing.T) {
		id := newIntent()
		svc, db, clk := crashy(w)
		before := fake.count()
		db.n.Store(2)
		_ = svc.PaymentSucceeded(ctx, w.d.PartnerID, w.d.CompanyID, "pi_late_1", md(id), 150000, "EUR")
		fake.set(func() { fake.byKey = map[string]map[string]any{} }) // Stripe forgot the keys
		clk.Add(25 * time.Hour)
		if err := svc.PaymentSucceeded(ctx, w.d.PartnerID, w.d.CompanyID, "pi_late_1", md(id), 150000, "EUR"); err != nil {
			t.Fatal(err)
		}
		if got := fake.count() - before; got != 2 {
			t.Fatalf("%d transfers, want 2", got)
		}
		for _, p := range w.payouts(id).Payees {
			if p.Status != splits.SplitPaid {
				t.Fatalf("%+v", p)
			}
		}
	})

	t.Run("a transfer.created event completes a payout whose status write was lost", func(t *testing.T) {
		id := newIntent()
		svc, db, _ := crashy(w)
		db.n.Store(2)
		_ = svc.PaymentSucceeded(ctx, w.d.PartnerID, w.d.CompanyID, "pi_event_1", md(id), 150000, "EUR")
		fake.mu.Lock()
		var mine []map[string]any
		for _, tr := range fake.transfers {
			if tr["transfer_group"] == id {
				mine = append(mine, tr)
			}
		}
		fake.mu.Unlock()
		for _, tr := range mine {
			if err := svc.TransferEvent(ctx, w.d.PartnerID, "transfer.created", tr["id"].(string), tr["metadata"].(map[string]string), false); err != nil {
				t.Fatal(err)
			}
		}
		v := w.payouts(id)
		for _, p := range v.Payees {
			if p.Status != splits.SplitPaid {
				t.Fatalf("%+v", p)
			}
		}
		t.Run("a full reversal marks it failed", func(t *testing.T) {
			tr := mine[0]
			if err := svc.TransferEvent(ctx, w.d.PartnerID, "transfer.reversed", tr["id"].(string), tr["metadata"].(map[string]string), true); err != nil {
				t.Fatal(err)
			}
			failed := 0
			for _, p := range w.payouts(id).Payees {
				if p.Status == splits.SplitFailed && strings.Contains(p.Transfers[0].Error, "reversed") {
					failed++
				}
			}
			if failed != 1 {
				t.Fatalf("%d failed payees", failed)
			}
		})
		t.Run("another partner's event is ignored", func(t *testing.T) {
			if err := svc.TransferEvent(ctx, "ptr_other", "transfer.reversed", "tr_x", mine[1]["metadata"].(map[string]string), true); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("a refused transfer fails, and the retry endpoint pays it with a new attempt", func(t *testing.T) {
		id := newIntent()
		fake.set(func() { fake.refuse[agentAcct] = true })
		if res := w.pay("pi_refused_1", id, 150000, "eur"); res.Status != 200 {
			t.Fatalf("a permanent refusal is recorded, not retried: %d %s", res.Status, res.Body)
		}
		v := w.payouts(id)
		ag := payee(v, "split:"+findSplit(t, w, id, w.agent))
		if ag.Status != splits.SplitFailed || !strings.Contains(ag.Transfers[0].Error, "account_invalid") {
			t.Fatalf("%+v", ag)
		}
		fake.set(func() { fake.refuse[agentAcct] = false })
		res := w.do("POST", "/v1/payment-intents/"+id+"/payouts/retry", nil)
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var after splits.PayoutsView
		res.JSON(t, &after)
		ag = payee(after, ag.Key)
		if ag.Status != splits.SplitPaid || ag.Transfers[0].Attempt != 1 || ag.Paid != 52500 {
			t.Fatalf("%+v", ag)
		}
	})

	t.Run("a Stripe outage answers the webhook 500 and the redelivery completes", func(t *testing.T) {
		id := newIntent()
		before := fake.count()
		fake.set(func() { fake.outage = 100 })
		if res := w.pay("pi_outage_1", id, 150000, "eur"); res.Status != 500 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		fake.set(func() { fake.outage = 0 })
		if res := w.pay("pi_outage_1", id, 150000, "eur"); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if got := fake.count() - before; got != 2 {
			t.Fatalf("%d transfers, want 2", got)
		}
		for _, p := range w.payouts(id).Payees {
			if p.Status != splits.SplitPaid {
				t.Fatalf("%+v", p)
			}
		}
		if strings.Contains(w.logs(), demo.StripeSecretKey) {
			t.Fatal("a secret key reached the logs")
		}
	})
}

func findSplit(t *testing.T, w *world, intentID, partnership string) string {
	t.Helper()
	res := w.do("GET", "/v1/payment-splits?payment_intent="+intentID, nil)
	var p struct{ Data []splits.Split }
	res.JSON(t, &p)
	for _, s := range p.Data {
		if s.Partnership == partnership {
			return s.ID
		}
	}
	t.Fatalf("no split for %s", partnership)
	return ""
}
