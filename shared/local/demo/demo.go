// Package demo seeds a demo partner for `make run` and for the events/ round
// trip: credentials for both providers, a company and its connections, with
// fixed IDs and API key, so events/*.json name them literally and work as
// shipped with `make invoke` and `sam local invoke`. Fill still replaces the
// old placeholders (${PAYRECON_API_KEY}, …) for events written for another partner.
package demo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/partners"
)

// Fixed demo values (test-mode, meaningless outside the local stack).
const (
	StripeSecretKey      = "sk_test_51DemoKeyForLocalUse"
	StripeClientID       = "ca_DemoClientId0001"
	StripeWebhookSecret  = "whsec_DemoWebhookSecret01"
	QualpaySecurityKey   = "3888ab7bba98452987cdf69ae917561a"
	QualpayIntegratorID  = "301"
	QualpayWebhookSecret = "qpDemoWebhookSecret1"
	StripeAccountID      = "acct_1DemoBakery00001"
	QualpayMerchantID    = "212000000001"
)

// Demo is what was seeded.
type Demo struct {
	PartnerID, APIKey, CompanyID string
}

// The demo partner, its API key and company are the same on every seed (IDs
// from a fixed clock and a seeded stream), so events/*.json name them literally
// and run as shipped. Test-mode values, meaningful only on a local stack.
const (
	PartnerID = "ptr_01m844dzg0vpg8wq32mqc799kg"
	APIKey    = "pr_test_1R1f8puEqx7d4gcFu48deDabchh21mzyGByPXHcYh9s"
	CompanyID = "co_01m844dzg0hxnxre1dsbvrhbg8"
)

// seedIDs mints the demo's IDs and key deterministically.
func seedIDs() *ids.Generator {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var seed [32]byte
	copy(seed[:], "payrecon local demo, not secret")
	return &ids.Generator{Now: func() time.Time { return at }, Entropy: rand.NewChaCha8(seed)}
}

// Seed creates the demo partner, its credentials, a company "Demo Bakery" with a
// linked Stripe account and Qualpay merchant, with the fixed IDs above. It only
// runs against local emulators: the demo API key is public.
func Seed(ctx context.Context, e *app.Env) (Demo, error) {
	if !e.Cfg.Local() {
		return Demo{}, fmt.Errorf("demo seed runs only on the local stack (its API key is public)")
	}
	gen := seedIDs()
	parts := &partners.Service{Store: e.Store, IDs: gen, Now: e.Now}
	comps := &companies.Service{Store: e.Store, IDs: gen, Now: e.Now}
	p, key, err := parts.Create(ctx, "Demo Partner", false)
	if err != nil {
		return Demo{}, fmt.Errorf("partner: %w", err)
	}
	if _, err := e.Credentials.ConfigureStripe(ctx, p.ID, credentials.StripeCredentials{
		SecretKey: StripeSecretKey, ClientID: StripeClientID, WebhookSecret: StripeWebhookSecret}); err != nil {
		return Demo{}, fmt.Errorf("stripe credentials: %w", err)
	}
	if _, err := e.Credentials.ConfigureQualpay(ctx, p.ID, credentials.QualpayCredentials{
		SecurityKey: QualpaySecurityKey, IntegratorID: QualpayIntegratorID, WebhookSecret: QualpayWebhookSecret, Environment: "sandbox"}); err != nil {
		return Demo{}, fmt.Errorf("qualpay credentials: %w", err)
	}
	c, _, err := comps.Create(ctx, p.ID, "demo-bakery", "Demo Bakery")
	if err != nil {
		return Demo{}, fmt.Errorf("company: %w", err)
	}
	now := e.Now().UTC().Truncate(time.Second)
	for _, conn := range []companies.Connection{
		{PartnerID: p.ID, CompanyID: c.ID, Provider: "stripe", AccountID: StripeAccountID, Method: "linked", ConnectedAt: now},
		{PartnerID: p.ID, CompanyID: c.ID, Provider: "qualpay", AccountID: QualpayMerchantID, Method: "linked", ConnectedAt: now},
	} {
		if _, _, err := e.Companies.Connect(ctx, conn); err != nil {
			return Demo{}, fmt.Errorf("connect %s: %w", conn.Provider, err)
		}
	}
	// As linking through the API does: the merchant joins the scheduled pulls.
	if err := workerfn.QualpayPulls(e).Linked(ctx, p.ID, c.ID, QualpayMerchantID); err != nil {
		return Demo{}, fmt.Errorf("qualpay pulls: %w", err)
	}
	d := Demo{PartnerID: p.ID, APIKey: key, CompanyID: c.ID}
	if d != (Demo{PartnerID: PartnerID, APIKey: APIKey, CompanyID: CompanyID}) {
		return d, fmt.Errorf("demo seed is no longer deterministic: got %+v", d)
	}
	return d, nil
}

// Fill replaces the events/ placeholders in s.
func (d Demo) Fill(s string) string {
	return strings.NewReplacer(
		"${PAYRECON_API_KEY}", d.APIKey, "${PARTNER_ID}", d.PartnerID, "${COMPANY_ID}", d.CompanyID,
		"${STRIPE_ACCOUNT_ID}", StripeAccountID, "${QUALPAY_MERCHANT_ID}", QualpayMerchantID,
	).Replace(s)
}

// Resign re-signs an events/ webhook request's signature headers for body at
// now, for tests that run webhooks outside the local stage (which accepts the
// committed signatures' old timestamps).
func Resign(headers map[string]string, body string, now time.Time) {
	for k := range headers {
		switch strings.ToLower(k) {
		case "stripe-signature":
			headers[k] = SignStripe([]byte(body), StripeWebhookSecret, now)
		case "x-qualpay-webhook-signature":
			headers[k] = SignQualpay([]byte(body), QualpayWebhookSecret)
		}
	}
}

// SignStripe returns a Stripe-Signature header for body, signed now.
func SignStripe(body []byte, secret string, now time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: now}).Header
}

// SignQualpay returns the x-qualpay-webhook-signature for body.
func SignQualpay(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
