package webhooks_test

import (
	"testing"
	"time"

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
