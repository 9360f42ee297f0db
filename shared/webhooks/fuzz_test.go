package webhooks_test

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// FuzzVerifyStripe: any correctly signed body either decodes to an event with an
// ID and a type or is refused with a client error; a body signed for other
// bytes is always refused. Nothing panics.
func FuzzVerifyStripe(f *testing.F) {
	f.Add(example.Event("evt_1", "payout.paid", acct, 1, example.Payout("po_1", "paid", 5, time.Unix(0, 0))))
	f.Add([]byte(`{"id":"evt_1","type":"x","data":{"object":{"id":"a","customer":{"id":"cus_1"},"latest_charge":null}}}`))
	f.Add([]byte(`{"id":"evt_1","type":"charge.succeeded","data":{"object":{"balance_transaction":{"id":"txn","amount":1,"fee":"x"}}}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, body []byte) {
		now := time.Now()
		ev, err := webhooks.VerifyStripe(body, sign(body, whsec, now), []string{whsec}, now, 0)
		if err == nil && (ev.ID == "" || ev.Type == "") {
			t.Fatalf("accepted an event without id/type: %q", body)
		}
		other := append([]byte{' '}, body...)
		if _, err := webhooks.VerifyStripe(other, sign(body, whsec, now), []string{whsec}, now, 0); err == nil {
			t.Fatal("accepted bytes the signature was not made for")
		}
	})
}

// FuzzMultiSignatureHeaders: both providers' headers may carry several
// signatures (Stripe: one v1 per active secret while a secret rolls; Qualpay:
// comma-separated values during a rotation overlap), and an endpoint may hold
// several secrets. For any body and any extra header content around one
// signature: the delivery verifies exactly when that signature was made with
// one of the endpoint's secrets (and nothing in the extra content makes the
// header ambiguous); and a header of arbitrary content verifies only if it
// really contains a signature of the body by one of the secrets. Nothing panics.
func FuzzMultiSignatureHeaders(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1"}`), "", uint8(0), true)
	f.Add([]byte(`{"id":"evt_1"}`), "v1=00,v0=abc", uint8(1), false)
	f.Add([]byte(`{}`), "t=1,v1=zz", uint8(2), true)
	f.Add([]byte(``), ",,, ,=,v1=", uint8(1), true)
	f.Add([]byte(`{"event":"x"}`), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", uint8(0), false)
	secrets := []string{"whsec_FuzzConnectOld01", "whsec_FuzzConnectNew02"}
	qpSecrets := []string{"qpFuzzSecretOne", "qpFuzzSecretTwo"}
	now := time.Unix(1795435200, 0)
	items := func(h string) []string {
		var out []string
		for it := range strings.SplitSeq(h, ",") {
			out = append(out, strings.TrimSpace(it))
		}
		return out
	}
	f.Fuzz(func(t *testing.T, body []byte, junk string, signer uint8, sigFirst bool) {
		known := signer%3 < 2 // 2: signed with a secret the endpoint does not hold
		join := func(sig string) string {
			if sigFirst {
				return sig + "," + junk
			}
			return junk + "," + sig
		}

		// Stripe.
		stripeSecret := "whsec_NotConfigured00"
		qpSecret := "qpNotConfigured"
		if known {
			stripeSecret, qpSecret = secrets[signer%3], qpSecrets[signer%3]
		}
		ts := strconv.FormatInt(now.Unix(), 10)
		valid := "v1=" + hex.EncodeToString(webhook.ComputeSignature(now, body, stripeSecret))
		junkT, junkV1 := false, 0
		for _, it := range items(junk) {
			k, v, ok := strings.Cut(it, "=")
			switch {
			case !ok:
			case k == "t":
				junkT = true
			case k == "v1" && len(v) == 64:
				if _, err := hex.DecodeString(v); err == nil {
					junkV1++
				}
			}
		}
		header := "t=" + ts + "," + join(valid)
		err := webhooks.VerifyStripeSignature(body, header, secrets, now, 0)
		want := known && !junkT && !(!sigFirst && junkV1 >= 8)
		if (err == nil) != want {
			t.Fatalf("stripe %q: err=%v, want accepted=%v", header, err, want)
		}
		if webhooks.VerifyStripeSignature(body, junk, secrets, now, 0) == nil {
			// Accepted on its own: junk must hold a real signature for its t.
			ok := false
			for _, it := range items(junk) {
				if k, v, found := strings.Cut(it, "="); found && k == "t" {
					n, _ := strconv.ParseInt(v, 10, 64)
					for _, s := range secrets {
						ok = ok || strings.Contains(junk, hex.EncodeToString(webhook.ComputeSignature(time.Unix(n, 0), body, s)))
					}
				}
			}
			if !ok {
				t.Fatalf("stripe accepted a header with no signature of the body: %q", junk)
			}
		}

		// Qualpay.
		qsig := webhooks.SignQualpay(body, qpSecret)
		junkSigs := 0
		for _, it := range items(junk) {
			if b, err := base64.StdEncoding.DecodeString(it); err == nil && len(b) == 32 && len(it) <= 64 {
				junkSigs++
			}
		}
		qheader := join(qsig)
		qwant := known && !(!sigFirst && junkSigs >= 8)
		if got := webhooks.VerifyQualpay(body, qheader, qpSecrets...); got != qwant {
			t.Fatalf("qualpay %q: accepted=%v, want %v", qheader, got, qwant)
		}
		if webhooks.VerifyQualpay(body, junk, qpSecrets...) &&
			!strings.Contains(junk, webhooks.SignQualpay(body, qpSecrets[0])) && !strings.Contains(junk, webhooks.SignQualpay(body, qpSecrets[1])) {
			t.Fatalf("qualpay accepted a header with no signature of the body: %q", junk)
		}
	})
}
