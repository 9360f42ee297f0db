package splits_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/local/connectfake"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/splits"
)

// exceptionsOf lists the company's open exceptions with a reason.
func (w *world) exceptionsOf(reason string) []map[string]any {
	w.t.Helper()
	var page struct{ Data []map[string]any }
	w.do("GET", "/v1/companies/"+w.d.CompanyID+"/exceptions", nil).JSON(w.t, &page)
	var out []map[string]any
	for _, x := range page.Data {
		if x["reason"] == reason {
			out = append(out, x)
		}
	}
	return out
}

// TestSplitFunding: a split intent paid through the checkout endpoint and
// platform events moves money the way Stripe's separate charges and transfers
// do (issue 12 §1).
func TestSplitFunding(t *testing.T) {
	w := newWorld(t)
	// 1500.00: 60 % to the school, 525.00 to the agent, 75.00 stays with the tenant.
	newIntent := func() string {
		id, items := w.intent(`{"currency":"USD","items":[{"name":"Enrolment","amount":150000}]}`)
		w.create("/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "percentage": 0.6, "item": items[0], "partnership": w.school, "payment_intent": id})
		w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 52500, "item": items[0], "partnership": w.agent, "payment_intent": id})
		return id
	}
	checkout := func(id string) splits.Checkout {
		t.Helper()
		res := w.do("POST", "/v1/payment-intents/"+id+"/checkout", nil)
		if res.Status != 200 {
			t.Fatalf("checkout: %d %s", res.Status, res.Body)
		}
		var c splits.Checkout
		res.JSON(t, &c)
		return c
	}
	chargeOf := func(event []byte) string {
		var ev struct {
			Data struct {
				Object struct {
					LatestCharge string `json:"latest_charge"`
				} `json:"object"`
			} `json:"data"`
		}
		_ = json.Unmarshal(event, &ev)
		return ev.Data.Object.LatestCharge
	}
	deliver := func(evs ...[]byte) {
		t.Helper()
		for _, ev := range evs {
			if res := w.platformEvent(ev); res.Status != 200 {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
		}
	}
	payCard := func(id string) (event []byte, charge string) {
		t.Helper()
		ev, err := w.fake.Pay(checkout(id).StripePaymentIntent, "card")
		if err != nil {
			t.Fatal(err)
		}
		return ev, chargeOf(ev)
	}
	byDest := func(id string) map[string]connectfake.Transfer {
		out := map[string]connectfake.Transfer{}
		for _, tr := range w.transfersOf(id) {
			out[tr.Destination] = tr
		}
		return out
	}

	id := newIntent()
	c := checkout(id)
	t.Run("checkout is a platform PaymentIntent for Elements", func(t *testing.T) {
		if !strings.HasPrefix(c.StripePaymentIntent, "pi_") || !strings.Contains(c.ClientSecret, "_secret_") || c.Amount != 150000 ||
			c.Funding != "separate_charges_and_transfers" || c.OnBehalfOf != demo.StripeAccountID {
			t.Fatalf("%+v", c)
		}
		if again := checkout(id); again.StripePaymentIntent != c.StripePaymentIntent || again.ClientSecret != c.ClientSecret {
			t.Fatalf("a repeated checkout made another PaymentIntent: %+v", again)
		}
	})

	ev, err := w.fake.Pay(c.StripePaymentIntent, "card")
	if err != nil {
		t.Fatal(err)
	}
	charge := chargeOf(ev)
	if res := w.platformEvent(ev); res.Status != 200 {
		t.Fatalf("platform event: %d %s", res.Status, res.Body)
	}
	amount, fee, _ := w.fake.Charge(charge)
	t.Run("every transfer is tied to its charge and sums to each payee's share", func(t *testing.T) {
		trs := byDest(id)
		if len(trs) != 3 {
			t.Fatalf("transfers %+v", trs)
		}
		var sum int64
		for _, tr := range trs {
			if tr.SourceTransaction != charge {
				t.Fatalf("transfer %s not funded by %s: %+v", tr.ID, charge, tr)
			}
			sum += tr.Amount
		}
		if trs[schoolAcct].Amount != 90000 || trs[agentAcct].Amount != 52500 || trs[demo.StripeAccountID].Amount != 7500-fee {
			t.Fatalf("school %d agent %d tenant %d (fee %d)", trs[schoolAcct].Amount, trs[agentAcct].Amount, trs[demo.StripeAccountID].Amount, fee)
		}
		if sum > amount-fee {
			t.Fatalf("transfers %d exceed the charge's net %d", sum, amount-fee)
		}
		if avail, _ := w.fake.Balances("usd"); avail != 0 {
			t.Fatalf("the platform's own balance moved: %d", avail)
		}
		v := w.payouts(id)
		if v.Tenant.Transferred != 7500-fee || v.Tenant.StripeFees != fee || v.Status != splits.IntentPaid {
			t.Fatalf("tenant view %+v", v.Tenant)
		}
	})
	t.Run("a redelivered event, or the charge's own event, transfers nothing twice", func(t *testing.T) {
		ev2, _ := w.fake.Pay(c.StripePaymentIntent, "card")
		if res := w.platformEvent(ev2); res.Status != 200 || len(w.transfersOf(id)) != 3 {
			t.Fatalf("%d %d transfers", res.Status, len(w.transfersOf(id)))
		}
		ev3, _ := w.fake.ChargeSucceeded(charge)
		if res := w.platformEvent(ev3); res.Status != 200 || len(w.transfersOf(id)) != 3 {
			t.Fatalf("%d %d transfers", res.Status, len(w.transfersOf(id)))
		}
	})
	t.Run("a refund reverses the transfers in proportion", func(t *testing.T) {
		ev, err := w.fake.Refund(charge, 75000) // half
		if err != nil {
			t.Fatal(err)
		}
		if res := w.platformEvent(ev); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		trs := byDest(id)
		if trs[schoolAcct].Reversed != 45000 || trs[agentAcct].Reversed != 26250 {
			t.Fatalf("school reversed %d, agent %d", trs[schoolAcct].Reversed, trs[agentAcct].Reversed)
		}
		if r := trs[demo.StripeAccountID]; r.Reversed*2 > r.Amount+1 || r.Reversed*2 < r.Amount-1 {
			t.Fatalf("tenant reversed %d of %d", r.Reversed, r.Amount)
		}
		if res := w.platformEvent(ev); res.Status != 200 || byDest(id)[schoolAcct].Reversed != 45000 {
			t.Fatal("a replayed refund reversed again")
		}
	})
	t.Run("a reversal the payee's balance cannot cover raises an exception", func(t *testing.T) {
		w.fake.SetAccountAvailable(agentAcct, "usd", 0) // the agent was paid out meanwhile
		ev, err := w.fake.Refund(charge, 75000)         // the rest
		if err != nil {
			t.Fatal(err)
		}
		if res := w.platformEvent(ev); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		trs := byDest(id)
		if trs[schoolAcct].Reversed != 90000 || trs[agentAcct].Reversed != 26250 {
			t.Fatalf("school %d agent %d", trs[schoolAcct].Reversed, trs[agentAcct].Reversed)
		}
		xs := w.exceptionsOf("transfer_reversal_failed")
		if len(xs) != 1 || xs[0]["amount"].(float64) != 26250 || !strings.Contains(xs[0]["message"].(string), agentAcct) {
			t.Fatalf("exceptions %v", xs)
		}
	})

	t.Run("a refund delivered before the payment's success event is reversed once the shares are paid", func(t *testing.T) {
		// Stripe does not order deliveries (https://docs.stripe.com/webhooks#event-ordering):
		// payment_intent.succeeded may fail or come late and be retried after charge.refunded.
		id := newIntent()
		ev, ch := payCard(id)
		rev, err := w.fake.Refund(ch, 150000) // all of it, before the shares were transferred
		if err != nil {
			t.Fatal(err)
		}
		deliver(rev, ev)
		for _, tr := range w.transfersOf(id) {
			if tr.Reversed != tr.Amount {
				t.Fatalf("the refunded payment's transfer to %s kept %d of %d: the platform paid the refund from its own balance",
					tr.Destination, tr.Amount-tr.Reversed, tr.Amount)
			}
		}
		deliver(rev) // the refund's redelivery reverses nothing twice
		for _, tr := range w.transfersOf(id) {
			if tr.Reversed != tr.Amount {
				t.Fatalf("transfer to %s reversed %d of %d", tr.Destination, tr.Reversed, tr.Amount)
			}
		}
	})

	t.Run("transfers reversed for a refund are not paid again by the retry endpoint", func(t *testing.T) {
		// Stripe sends transfer.reversed for each transfer payrecon fully reversed.
		id := newIntent()
		ev, ch := payCard(id)
		deliver(ev)
		rev, err := w.fake.Refund(ch, 150000)
		if err != nil {
			t.Fatal(err)
		}
		deliver(rev)
		svc := *splitsfn.Service(w.env.Env)
		for _, tr := range w.transfersOf(id) {
			if err := svc.TransferEvent(context.Background(), w.d.PartnerID, "transfer.reversed", tr.ID, tr.Metadata, tr.Reversed == tr.Amount); err != nil {
				t.Fatal(err)
			}
		}
		before := len(w.transfersOf(id))
		if res := w.do("POST", "/v1/payment-intents/"+id+"/payouts/retry", nil); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if after := len(w.transfersOf(id)); after != before {
			t.Fatalf("the retry transferred the refunded payment's shares again: %d transfers, was %d", after, before)
		}
	})

	t.Run("two refunds delivered at once reverse their total once", func(t *testing.T) {
		// Stripe delivers events concurrently and out of order; each runs in its own
		// Lambda. Refund A (30 %) is reversing while refund B (cumulative 60 %) is handled.
		id := newIntent()
		ev, ch := payCard(id)
		deliver(ev)
		evA, _ := w.fake.Refund(ch, 45000)
		evB, _ := w.fake.Refund(ch, 45000)
		var fired atomic.Bool
		hook := func(r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/reversals") && fired.CompareAndSwap(false, true) {
				_ = w.platformEvent(evB) // may fail while A is under way: Stripe retries it
			}
		}
		w.afterStripe.Store(&hook)
		res := w.platformEvent(evA)
		w.afterStripe.Store(nil)
		if res.Status != 200 {
			t.Fatalf("refund A: %d %s", res.Status, res.Body)
		}
		deliver(evB, evA) // Stripe's retries and redeliveries
		trs := byDest(id)
		if trs[schoolAcct].Reversed != 54000 || trs[agentAcct].Reversed != 31500 {
			t.Fatalf("60 %% refunded: school reversed %d (want 54000), agent %d (want 31500)", trs[schoolAcct].Reversed, trs[agentAcct].Reversed)
		}
	})

	t.Run("ACH-type payments transfer after success, without source_transaction", func(t *testing.T) {
		id := newIntent()
		c := checkout(id)
		ev, _ := w.fake.Pay(c.StripePaymentIntent, "us_bank_account")
		before, _ := w.fake.Balances("usd")
		if res := w.platformEvent(ev); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var sum int64
		for _, tr := range w.transfersOf(id) {
			if tr.SourceTransaction != "" {
				t.Fatalf("ACH transfer with source_transaction: %+v", tr)
			}
			sum += tr.Amount
		}
		after, _ := w.fake.Balances("usd")
		if sum == 0 || before-after != sum {
			t.Fatalf("transfers %d, platform balance %d -> %d", sum, before, after)
		}
	})

	t.Run("charge.succeeded alone funds the round (transfer_group names the intent)", func(t *testing.T) {
		id := newIntent()
		ev, _ := w.fake.Pay(checkout(id).StripePaymentIntent, "card")
		chev, _ := w.fake.ChargeSucceeded(chargeOf(ev))
		if res := w.platformEvent(chev); res.Status != 200 || len(w.transfersOf(id)) != 3 {
			t.Fatalf("%d %s: %d transfers", res.Status, res.Body, len(w.transfersOf(id)))
		}
	})

	t.Run("a checkout Stripe would refuse for its currency rules is refused", func(t *testing.T) {
		id, _ := w.intent(`{"currency":"ISK","items":[{"name":"Tour","amount":400010}]}`) // 4000.10 ISK: Stripe takes whole krónur only
		if res := w.do("POST", "/v1/payment-intents/"+id+"/checkout", nil); res.Status != 422 || !strings.Contains(string(res.Body), "multiples of 100") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	t.Run("a checkout whose payee cannot receive transfers is refused", func(t *testing.T) {
		id := newIntent()
		w.fake.SetAccount(connectfake.Account{ID: schoolAcct, Country: "US"})
		defer w.fake.SetAccount(connectfake.Account{ID: schoolAcct, Country: "US", Transfers: true, CardPayments: true})
		res := w.do("POST", "/v1/payment-intents/"+id+"/checkout", nil)
		if res.Status != 422 || !strings.Contains(string(res.Body), schoolAcct) {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	t.Run("a direct charge on a split intent moves nothing and says what to do", func(t *testing.T) {
		id := newIntent()
		before := len(w.fake.Transfers())
		body, _ := json.Marshal(map[string]any{
			"id": "evt_direct_1", "object": "event", "api_version": "2023-10-16", "account": demo.StripeAccountID, "created": 1795000000,
			"type": "payment_intent.succeeded", "data": map[string]any{"object": map[string]any{
				"id": "pi_direct_1", "object": "payment_intent", "amount": 150000, "amount_received": 150000, "currency": "usd",
				"status": "succeeded", "metadata": map[string]string{"payrecon_intent": id}, "payment_method_types": []string{"card"}}}})
		res := w.connectedEvent(body)
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if len(w.fake.Transfers()) != before {
			t.Fatal("a direct charge moved money")
		}
		xs := w.exceptionsOf("splits_need_platform_charge")
		if len(xs) != 1 || !strings.Contains(xs[0]["message"].(string), "/checkout") {
			t.Fatalf("%v", xs)
		}
		if v := w.payouts(id); v.AmountReceived != 0 {
			t.Fatalf("%+v", v)
		}
	})
}
