package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/local/demo"
)

// runSignEvent prints an events/ file for another partner or a deployed stage:
// placeholders filled from the environment (PAYRECON_API_KEY, PAYRECON_COMPANY_ID, …)
// and webhook signature headers re-signed now with STRIPE_WEBHOOK_SECRET /
// QUALPAY_WEBHOOK_SECRET (the demo secrets by default).
func runSignEvent(args []string, out io.Writer, getenv func(string) string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: sign-event events/FILE.json")
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	d := demo.Demo{APIKey: getenv("PAYRECON_API_KEY"), PartnerID: getenv("PAYRECON_PARTNER_ID"), CompanyID: getenv("PAYRECON_COMPANY_ID")}
	var ev map[string]any
	if err := json.Unmarshal([]byte(d.Fill(string(raw))), &ev); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	body, _ := ev["body"].(string)
	stripeSecret, qpSecret := or(getenv("STRIPE_WEBHOOK_SECRET"), demo.StripeWebhookSecret), or(getenv("QUALPAY_WEBHOOK_SECRET"), demo.QualpayWebhookSecret)
	if h, ok := ev["headers"].(map[string]any); ok {
		for k := range h {
			switch strings.ToLower(k) {
			case "stripe-signature":
				h[k] = demo.SignStripe([]byte(body), stripeSecret, time.Now())
			case "x-qualpay-webhook-signature":
				h[k] = demo.SignQualpay([]byte(body), qpSecret)
			}
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(ev)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
