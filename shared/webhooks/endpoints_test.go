package webhooks_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// signWith builds a Stripe-Signature header with one v1 per secret, as Stripe
// sends while an endpoint's secret is being rolled
// (https://docs.stripe.com/webhooks/signature).
func signWith(body []byte, at time.Time, secrets ...string) string {
	h := "t=" + strconv.FormatInt(at.Unix(), 10)
	for _, s := range secrets {
		h += ",v1=" + hex.EncodeToString(webhook.ComputeSignature(at, body, s))
	}
	return h
}

// marker reads an event's dedupe record (outcome and reason).
func (w *world) marker(t *testing.T, provider, id string) (outcome, reason string) {
	t.Helper()
	var m struct {
		Outcome string `dynamodbav:"outcome"`
		Reason  string `dynamodbav:"reason"`
	}
	if err := w.env.Store.Get(context.Background(), webhooks.EventPK(provider, w.pid, id), "EVENT", &m); err != nil {
		t.Fatalf("marker %s: %v", id, err)
	}
	return m.Outcome, m.Reason
}

func (w *world) addSecret(t *testing.T, provider string, body map[string]any) string {
	t.Helper()
	res := testenv.Do(t, "POST", w.env.Server("credentials").URL+"/v1/integrations/"+provider+"/webhook-secrets", w.key, body)
	var m struct{ ID string }
	res.JSON(t, &m)
	if res.Status != 201 {
		t.Fatalf("add secret: %d %s", res.Status, res.Body)
	}
	return m.ID
}

// TestStripeEndpointSecrets: the partner's Connect and platform endpoints hold
// different secrets, each verifies only its own endpoint; a roll keeps the old
// and the new secret valid until the old one is removed.
func TestStripeEndpointSecrets(t *testing.T) {
	w := newWorld(t)
	const platformSecret, rolled = "whsec_PlatformEndpoint0001", "whsec_RolledConnect000002"
	now := time.Now()
	connectEv := func(id string) []byte {
		return event(id, "customer.created", acct, now.Unix(), map[string]any{"id": "cus_" + id, "object": "customer"})
	}
	platformEv := func(id string) []byte {
		return event(id, "balance.available", "", now.Unix(), map[string]any{"object": "balance"})
	}
	connectURL, platformURL := w.srv.URL+"/stripe/"+w.pid+"/connect", w.srv.URL+"/stripe/"+w.pid
	// Before any platform secret exists, the platform URL verifies with the
	// partner's only (Connect) secret, as before secret sets.
	if r := post(t, platformURL, platformEv("evt_p0"), "Stripe-Signature", signWith(platformEv("evt_p0"), now, whsec)); r.status != 200 {
		t.Fatalf("platform event before a platform secret: %d %s", r.status, r.body)
	}
	w.addSecret(t, "stripe", map[string]any{"kind": "platform", "secret": platformSecret})

	steps := []struct {
		name   string
		url    string
		body   []byte
		header func(b []byte) string
		status int
	}{
		{"connect event, connect secret", connectURL, connectEv("evt_c1"), func(b []byte) string { return signWith(b, now, whsec) }, 200},
		{"platform event, platform secret", platformURL, platformEv("evt_p1"), func(b []byte) string { return signWith(b, now, platformSecret) }, 200},
		{"platform URL refuses the connect secret", platformURL, platformEv("evt_p2"), func(b []byte) string { return signWith(b, now, whsec) }, 400},
		{"connect URL refuses the platform secret", connectURL, connectEv("evt_c2"), func(b []byte) string { return signWith(b, now, platformSecret) }, 400},
		{"shared URL verifies with connect secrets", w.srv.URL + "/stripe", connectEv("evt_c3"), func(b []byte) string { return signWith(b, now, whsec) }, 200},
		{"signature 4 min in the future", connectURL, connectEv("evt_c4"), func(b []byte) string { return signWith(b, now.Add(4*time.Minute), whsec) }, 200},
		{"signature 6 min in the future", connectURL, connectEv("evt_c5"), func(b []byte) string { return signWith(b, now.Add(6*time.Minute), whsec) }, 400},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if r := post(t, s.url, s.body, "Stripe-Signature", s.header(s.body)); r.status != s.status {
				t.Fatalf("%d, want %d: %s", r.status, s.status, r.body)
			}
		})
	}

	t.Run("rotation overlap", func(t *testing.T) {
		w.addSecret(t, "stripe", map[string]any{"kind": "connect", "secret": rolled})
		for i, secrets := range [][]string{{whsec, rolled}, {rolled, whsec}, {rolled}, {whsec}} {
			b := connectEv("evt_rot" + itoa(i))
			if r := post(t, connectURL, b, "Stripe-Signature", signWith(b, now, secrets...)); r.status != 200 {
				t.Fatalf("signed with %v during the overlap: %d %s", secrets, r.status, r.body)
			}
		}
		// The old secret expires: the partner removes it.
		res := testenv.Do(t, "GET", w.env.Server("credentials").URL+"/v1/integrations/stripe/webhook-secrets", w.key, nil)
		var list struct {
			Data []struct{ ID, Kind, Last4 string }
		}
		res.JSON(t, &list)
		for _, m := range list.Data {
			if m.Kind == "connect" && strings.HasSuffix(whsec, m.Last4) {
				if res := testenv.Do(t, "DELETE", w.env.Server("credentials").URL+"/v1/integrations/stripe/webhook-secrets/"+m.ID, w.key, nil); res.Status != 204 {
					t.Fatalf("remove old secret: %d", res.Status)
				}
			}
		}
		b := connectEv("evt_rot_old")
		if r := post(t, connectURL, b, "Stripe-Signature", signWith(b, now, whsec)); r.status != 400 {
			t.Fatalf("old secret after removal: %d %s", r.status, r.body)
		}
		if r := post(t, connectURL, b, "Stripe-Signature", signWith(b, now, whsec, rolled)); r.status != 200 {
			t.Fatalf("new secret after removal: %d %s", r.status, r.body)
		}
	})
}

// TestStripeUnlinkedAccountsAndLivemode: on the partner's Connect URL a
// verified event for an account that is not, or no longer, linked, or from the
// other mode, is recorded as ignored and answered 200.
func TestStripeUnlinkedAccountsAndLivemode(t *testing.T) {
	w := newWorld(t)
	connectURL := w.srv.URL + "/stripe/" + w.pid + "/connect"
	send := func(t *testing.T, body []byte) resp {
		t.Helper()
		return post(t, connectURL, body, "Stripe-Signature", sign(body, whsec, time.Now()))
	}
	pi := func(id string) map[string]any { return paymentIntent("pi_"+id, "succeeded", 500, nil, "card") }
	now := time.Now().Unix()

	if r := send(t, event("evt_u1", "payment_intent.succeeded", "acct_NeverConnected01", now, pi("u1"))); r.status != 200 || r.res.Outcome != "ignored" {
		t.Fatalf("never-linked account: %d %s", r.status, r.body)
	}
	if o, why := w.marker(t, "stripe", "evt_u1"); o != "ignored" || why != webhooks.ReasonAccountNotLinked {
		t.Fatalf("marker %s %s", o, why)
	}
	live := event("evt_u2", "payment_intent.succeeded", acct, now, pi("u2"))
	live = []byte(strings.Replace(string(live), `"livemode":false`, `"livemode":true`, 1))
	if r := send(t, live); r.status != 200 || r.res.Outcome != "ignored" {
		t.Fatalf("live event on a test-mode partner: %d %s", r.status, r.body)
	}
	if _, why := w.marker(t, "stripe", "evt_u2"); why != webhooks.ReasonLivemode {
		t.Fatalf("livemode reason %q", why)
	}
	// Linked: applied (and the route is now cached).
	if r := send(t, event("evt_u3", "payment_intent.succeeded", acct, now, pi("u3"))); r.status != 200 || r.res.Outcome != "applied" {
		t.Fatalf("linked account: %d %s", r.status, r.body)
	}
	// Disconnected: the cached route is dropped at once.
	if _, err := w.env.Companies.Disconnect(context.Background(), w.pid, w.cid, "stripe"); err != nil {
		t.Fatal(err)
	}
	if r := send(t, event("evt_u4", "payment_intent.succeeded", acct, now, pi("u4"))); r.status != 200 || r.res.Outcome != "ignored" {
		t.Fatalf("disconnected account: %d %s", r.status, r.body)
	}
	// Another partner's account, delivered to this partner's URL: ignored, not applied to the other partner.
	otherPID, _ := w.env.Partner("Other")
	co, _, err := w.env.Companies.Create(context.Background(), otherPID, "x-1", "X")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.env.Companies.Connect(context.Background(), companies.Connection{PartnerID: otherPID, CompanyID: co.ID, Provider: "stripe",
		AccountID: "acct_OtherPartner0001", Method: "linked", ConnectedAt: w.env.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := send(t, event("evt_u5", "payment_intent.succeeded", "acct_OtherPartner0001", now, pi("u5"))); r.status != 200 || r.res.Outcome != "ignored" {
		t.Fatalf("other partner's account: %d %s", r.status, r.body)
	}
	var items []map[string]any
	if _, err := w.env.Store.QueryPage(context.Background(), store.Query{PK: store.CompanyPK(otherPID, co.ID), SKPrefix: "PAYMENT#"}, &items); err != nil || len(items) != 0 {
		t.Fatalf("other partner's company got %d payments (%v)", len(items), err)
	}
	// The shared URL cannot attribute an unknown account: the uniform rejection.
	b := event("evt_u6", "payment_intent.succeeded", "acct_NeverConnected01", now, pi("u6"))
	if r := post(t, w.srv.URL+"/stripe", b, "Stripe-Signature", sign(b, whsec, time.Now())); r.status != 400 {
		t.Fatalf("shared URL, unknown account: %d", r.status)
	}
}

// TestQualpayEndpointSecrets: several secrets (one per Qualpay webhook, and a
// rotation overlap), comma-separated signatures, Basic credentials when set,
// and 200-and-ignore for unknown or disconnected merchants.
func TestQualpayEndpointSecrets(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cred := w.env.Server("credentials").URL + "/v1/integrations/qualpay"
	// Credentials with no webhook secret at all are accepted (deposits come from the scheduled pull).
	if res := testenv.Do(t, "PUT", cred, w.key, map[string]any{"security_key": qpKey, "integrator_id": 301, "environment": "sandbox"}); res.Status != 200 {
		t.Fatalf("configure without webhook secret: %d %s", res.Status, res.Body)
	}
	if _, _, err := w.env.Companies.Connect(ctx, companies.Connection{PartnerID: w.pid, CompanyID: w.cid, Provider: "qualpay",
		AccountID: qpMID, Method: "linked", ConnectedAt: w.env.Now()}); err != nil {
		t.Fatal(err)
	}
	url := w.srv.URL + "/qualpay/" + w.pid
	body := func(id string) []byte {
		return []byte(`{"event_id":"` + id + `","event":"customer_updated","merchant_id":` + qpMID + `}`)
	}
	deliver := func(t *testing.T, b []byte, sig string, basic ...string) resp {
		t.Helper()
		req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
		req.Header.Set(webhooks.QualpaySignatureHeader, sig)
		if len(basic) == 2 {
			req.SetBasicAuth(basic[0], basic[1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		return resp{status: res.StatusCode}
	}
	if r := deliver(t, body("q0"), webhooks.SignQualpay(body("q0"), qpSecret)); r.status != 400 {
		t.Fatalf("no secret configured: %d", r.status)
	}
	const old, rolled = "qpSecretOld0001", "qpSecretNew0002"
	w.addSecret(t, "qualpay", map[string]any{"secret": old})
	w.addSecret(t, "qualpay", map[string]any{"secret": rolled})
	sig := webhooks.SignQualpay
	cases := []struct {
		name, id, header string
		want             int
	}{
		{"old secret", "q1", sig(body("q1"), old), 200},
		{"new secret", "q2", sig(body("q2"), rolled), 200},
		{"two signatures, first valid", "q3", sig(body("q3"), old) + "," + sig(body("q3"), "notOurs"), 200},
		{"two signatures, second valid", "q4", sig(body("q4"), "notOurs") + ", " + sig(body("q4"), rolled), 200},
		{"two signatures, neither valid", "q5", sig(body("q5"), "notOurs") + "," + sig(body("q5"), "alsoNot"), 400},
		{"valid signature of another body", "q6", sig(body("q0"), old), 400},
		{"empty values around a valid one", "q7", "," + sig(body("q7"), rolled) + ",", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := deliver(t, body(c.id), c.header); r.status != c.want {
				t.Fatalf("%d, want %d", r.status, c.want)
			}
		})
	}
	t.Run("Basic credentials, when configured, are required too", func(t *testing.T) {
		if res := testenv.Do(t, "PUT", cred, w.key, map[string]any{"security_key": qpKey, "integrator_id": 301, "environment": "sandbox",
			"webhook_username": "payrecon", "webhook_password": "basicPass9"}); res.Status != 200 {
			t.Fatalf("configure basic: %d %s", res.Status, res.Body)
		}
		b := body("b1")
		for name, c := range map[string]struct {
			basic []string
			want  int
		}{
			"missing": {nil, 400}, "wrong password": {[]string{"payrecon", "nope"}, 400}, "right": {[]string{"payrecon", "basicPass9"}, 200},
		} {
			if r := deliver(t, b, sig(b, rolled), c.basic...); r.status != c.want {
				t.Fatalf("%s: %d, want %d", name, r.status, c.want)
			}
		}
	})
	t.Run("unknown or disconnected merchant: recorded, ignored, 200", func(t *testing.T) {
		if _, err := w.env.Companies.Disconnect(ctx, w.pid, w.cid, "qualpay"); err != nil {
			t.Fatal(err)
		}
		b := body("d1")
		if r := deliver(t, b, sig(b, rolled), "payrecon", "basicPass9"); r.status != 200 {
			t.Fatalf("disconnected merchant: %d", r.status)
		}
		if o, why := w.marker(t, "qualpay", "d1"); o != "ignored" || why != webhooks.ReasonMerchantUnlinked {
			t.Fatalf("marker %s %s", o, why)
		}
	})
}
