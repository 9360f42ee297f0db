// Package demo seeds a demo partner for `make run` and for the events/ round
// trip: credentials for both providers, a company and its connections. It also
// fills the placeholders used in events/*.json (${PAYRECON_API_KEY}, …) and
// signs webhook events, so the same files work with `sam local invoke`.
package demo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
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

// Seed creates the demo partner, its credentials, a company "Demo Bakery" with a
// linked Stripe account and Qualpay merchant.
func Seed(ctx context.Context, e *app.Env) (Demo, error) {
	p, key, err := e.Partners.Create(ctx, "Demo Partner", false)
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
	c, _, err := e.Companies.Create(ctx, p.ID, "demo-bakery", "Demo Bakery")
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
	return Demo{PartnerID: p.ID, APIKey: key, CompanyID: c.ID}, nil
}

// Fill replaces the events/ placeholders in s.
func (d Demo) Fill(s string) string {
	return strings.NewReplacer(
		"${PAYRECON_API_KEY}", d.APIKey, "${PARTNER_ID}", d.PartnerID, "${COMPANY_ID}", d.CompanyID,
		"${STRIPE_ACCOUNT_ID}", StripeAccountID, "${QUALPAY_MERCHANT_ID}", QualpayMerchantID,
	).Replace(s)
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
