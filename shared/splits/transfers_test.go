package splits_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/local/connectfake"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/splits"
	"github.com/payrecon/payrecon/shared/store"
)

// platformPaid has the payer pay a platform PaymentIntent for the intent in
// the Connect fake and returns the event the webhook hands to split funding.
func (w *world) platformPaid(piID, intentID string, amount int64) splits.PaymentEvent {
	w.t.Helper()
	md := map[string]string{"payrecon_intent": intentID, "payrecon_partner": w.d.PartnerID}
	w.fake.NewPaymentIntent(piID, amount, "eur", intentID, md)
	body, err := w.fake.Pay(piID, "card")
	if err != nil {
		w.t.Fatal(err)
	}
	var ev struct {
		Data struct {
			Object struct {
				LatestCharge string `json:"latest_charge"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		w.t.Fatal(err)
	}
	return splits.PaymentEvent{Type: "payment_intent.succeeded", PaymentIntent: piID, Charge: ev.Data.Object.LatestCharge,
		Method: "card", Amount: amount, Currency: "EUR", Metadata: md}
}

func (w *world) transfersOf(intentID string) []connectfake.Transfer {
	var out []connectfake.Transfer
	for _, t := range w.fake.Transfers() {
		if t.Group == intentID {
			out = append(out, t)
		}
	}
	return out
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
	w := newWorld(t)
	ctx := context.Background()
	// 60 % + 525.00 of 1500.00: school, agent, and the tenant's 75.00 (less the Stripe fee).
	newIntent := func() string {
		id, items := w.intent(`{"currency":"EUR","items":[{"name":"Enrolment","amount":150000}]}`)
		w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "percentage": 0.6, "item": items[0], "partnership": w.school, "payment_intent": id})
		w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 52500, "item": items[0], "partnership": w.agent, "payment_intent": id})
		return id
	}
	const perPayment = 3 // school, agent, tenant

	t.Run("retry after a crash between transfer and status write pays once", func(t *testing.T) {
		id := newIntent()
		svc, db, _ := crashy(w)
		ev := w.platformPaid("pi_crash_1", id, 150000)
		db.n.Store(2)
		if err := svc.PlatformPayment(ctx, w.d.PartnerID, ev); err == nil {
			t.Fatal("the lost status writes must make the hook fail so the delivery is retried")
		}
		if got := len(w.transfersOf(id)); got != perPayment {
			t.Fatalf("%d transfers, want %d", got, perPayment)
		}
		for _, p := range w.payouts(id).Payees {
			if p.Status != splits.SplitPending || p.Pending != p.Amount {
				t.Fatalf("after the crash: %+v", p)
			}
		}
		if err := svc.PlatformPayment(ctx, w.d.PartnerID, ev); err != nil {
			t.Fatal(err)
		}
		if got := len(w.transfersOf(id)); got != perPayment {
			t.Fatalf("retry created transfers: %d, want %d", got, perPayment)
		}
		for _, p := range w.payouts(id).Payees {
			if p.Status != splits.SplitPaid || len(p.Transfers) != 1 || !strings.HasPrefix(p.Transfers[0].TransferID, "tr_") {
				t.Fatalf("after the retry: %+v", p)
			}
		}
	})

	t.Run("a retry after the idempotency window adopts the earlier transfer", func(t *testing.T) {
		id := newIntent()
		svc, db, clk := crashy(w)
		ev := w.platformPaid("pi_late_1", id, 150000)
		db.n.Store(2)
		_ = svc.PlatformPayment(ctx, w.d.PartnerID, ev)
		w.fake.ForgetIdempotencyKeys() // Stripe forgot the keys
		clk.Add(25 * time.Hour)
		if err := svc.PlatformPayment(ctx, w.d.PartnerID, ev); err != nil {
			t.Fatal(err)
		}
		if got := len(w.transfersOf(id)); got != perPayment {
			t.Fatalf("%d transfers, want %d", got, perPayment)
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
		ev := w.platformPaid("pi_event_1", id, 150000)
		db.n.Store(2)
		_ = svc.PlatformPayment(ctx, w.d.PartnerID, ev)
		mine := w.transfersOf(id)
		for _, tr := range mine {
			if err := svc.TransferEvent(ctx, w.d.PartnerID, "transfer.created", tr.ID, tr.Metadata, false); err != nil {
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
			if err := svc.TransferEvent(ctx, w.d.PartnerID, "transfer.reversed", tr.ID, tr.Metadata, true); err != nil {
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
			outboxtest.Count(t, w.env.Store, w.d.PartnerID, outbox.SplitTransferFailed, id, 1)
			if err := svc.TransferEvent(ctx, w.d.PartnerID, "transfer.reversed", tr.ID, tr.Metadata, true); err != nil {
				t.Fatal(err)
			}
			outboxtest.Count(t, w.env.Store, w.d.PartnerID, outbox.SplitTransferFailed, id, 1) // redelivered: already failed
		})
		t.Run("another partner's event is ignored", func(t *testing.T) {
			if err := svc.TransferEvent(ctx, "ptr_other", "transfer.reversed", "tr_x", mine[1].Metadata, true); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("a refused transfer fails, and the retry endpoint pays it with a new attempt", func(t *testing.T) {
		id := newIntent()
		w.fake.SetAccount(connectfake.Account{ID: agentAcct, Country: "US"}) // no transfers capability
		if res := w.pay("pi_refused_1", id, 150000, "eur"); res.Status != 200 {
			t.Fatalf("a permanent refusal is recorded, not retried: %d %s", res.Status, res.Body)
		}
		v := w.payouts(id)
		ag := payee(v, "split:"+findSplit(t, w, id, w.agent))
		if ag.Status != splits.SplitFailed || !strings.Contains(ag.Transfers[0].Error, "insufficient_capabilities_for_transfer") {
			t.Fatalf("%+v", ag)
		}
		// Announced once, with the transfer as the payouts view lists it.
		failed := outboxtest.One(t, w.env.Store, w.d.PartnerID, w.d.CompanyID, outbox.SplitTransferFailed, id, nil)
		var got struct {
			splits.TransferView
			PaymentIntent   string `json:"payment_intent"`
			Payee           string `json:"payee"`
			StripeAccountID string `json:"stripe_account_id"`
		}
		if err := json.Unmarshal([]byte(failed.Data), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.TransferView, ag.Transfers[0]) || got.PaymentIntent != id || got.Payee != ag.Key || got.StripeAccountID != ag.StripeAccountID {
			t.Fatalf("split.transfer.failed %s, payee %+v", failed.Data, ag)
		}
		if res := w.pay("pi_refused_1", id, 150000, "eur"); res.Status != 200 { // redelivered
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		outboxtest.Count(t, w.env.Store, w.d.PartnerID, outbox.SplitTransferFailed, id, 1)
		w.fake.SetAccount(connectfake.Account{ID: agentAcct, Country: "US", Transfers: true, CardPayments: true})
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
		outboxtest.Count(t, w.env.Store, w.d.PartnerID, outbox.SplitTransferFailed, id, 1)
	})

	t.Run("a Stripe outage answers the webhook 500 and the redelivery completes", func(t *testing.T) {
		id := newIntent()
		w.fake.FailTransfers(100)
		if res := w.pay("pi_outage_1", id, 150000, "eur"); res.Status != 500 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		w.fake.FailTransfers(0)
		if res := w.pay("pi_outage_1", id, 150000, "eur"); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if got := len(w.transfersOf(id)); got != perPayment {
			t.Fatalf("%d transfers, want %d", got, perPayment)
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
