package webhooks_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/webhookfn"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
)

// TestEventFilesApply: the signed webhook events in events/ go through the real
// Lambda entry and are applied (200, not a duplicate), then a redelivery is a duplicate.
func TestEventFilesApply(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for name, build := range map[string]app.Builder{
		"stripe-webhook-payment-succeeded": webhookfn.StripeHandler,
		"stripe-webhook-payout-paid":       webhookfn.StripeHandler,
		"qualpay-webhook-batch-settled":    webhookfn.QualpayHandler,
	} {
		t.Run(name, func(t *testing.T) {
			env := testenv.New(t)
			ctx := context.Background()
			d, err := demo.Seed(ctx, env.Env)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal([]byte(d.Fill(string(raw))), &ev); err != nil {
				t.Fatal(err)
			}
			demo.Resign(ev.Headers, ev.Body, time.Now())
			h, _, err := app.HTTPLambda(ctx, env.Getenv, build, env.Log)
			if err != nil {
				t.Fatal(err)
			}
			// The third delivery is base64-encoded by API Gateway: still the same bytes.
			b64 := ev
			b64.Body, b64.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(ev.Body)), true
			for i, wantDup := range []bool{false, true, true} {
				in := ev
				if i == 2 {
					in = b64
				}
				res, err := h(ctx, in)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("delivery %d: %v %d %s", i, err, res.StatusCode, res.Body)
				}
				var out struct {
					Duplicate bool
					Outcome   string
				}
				_ = json.Unmarshal([]byte(res.Body), &out)
				if out.Duplicate != wantDup || (!wantDup && out.Outcome != "applied") {
					t.Fatalf("delivery %d: %s", i, res.Body)
				}
			}
		})
	}
}
