// Package credentials stores each partner's provider keys: the secret parts in
// Secrets Manager (one secret per partner and provider), only non-secret
// metadata in DynamoDB. Secrets never leave this package except to the
// adapters that call the providers.
package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/secrets"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// Providers.
const (
	Stripe  = "stripe"
	Qualpay = "qualpay"
)

// StripeCredentials are a partner's Stripe platform keys.
type StripeCredentials struct {
	SecretKey string `json:"secret_key"`
	ClientID  string `json:"client_id"`
	// WebhookSecret is the PUT field: it becomes the Connect endpoint's first
	// secret. Stored credentials written before secret sets existed hold only
	// this field; load turns it into WebhookSecrets.
	WebhookSecret string `json:"webhook_secret,omitempty"`
	// WebhookSecrets are the signing secrets of the partner's Stripe endpoints,
	// by Kind (KindConnect, KindPlatform): Stripe gives every endpoint its own
	// secret and keeps a rolled one valid for up to 24 h.
	WebhookSecrets []WebhookSecret `json:"webhook_secrets,omitempty"`
}

// QualpayCredentials are a partner's Qualpay keys.
type QualpayCredentials struct {
	SecurityKey  string `json:"security_key"`
	IntegratorID string `json:"integrator_id"`
	// WebhookSecret is optional (webhooks are optional in Qualpay's setup); when
	// given it is added to WebhookSecrets, one per Qualpay webhook.
	WebhookSecret  string          `json:"webhook_secret,omitempty"`
	WebhookSecrets []WebhookSecret `json:"webhook_secrets,omitempty"`
	// WebhookUsername/WebhookPassword: the webhook's HTTP Basic "Authentication
	// Type" in Qualpay Manager; when set, deliveries must carry them.
	WebhookUsername string `json:"webhook_username,omitempty"`
	WebhookPassword string `json:"webhook_password,omitempty"`
	Environment     string `json:"environment"` // sandbox | production
}

// Status is the masked, non-secret view returned by the API.
type Status struct {
	store.Keys
	PartnerID      string    `dynamodbav:"partner_id" json:"-"`
	Provider       string    `dynamodbav:"provider" json:"provider"`
	Configured     bool      `dynamodbav:"configured" json:"configured"`
	Livemode       bool      `dynamodbav:"livemode" json:"livemode"`
	SecretKeyLast4 string    `dynamodbav:"secret_key_last4,omitempty" json:"secret_key_last4,omitempty"`
	ClientID       string    `dynamodbav:"client_id,omitempty" json:"client_id,omitempty"`
	AccountID      string    `dynamodbav:"account_id,omitempty" json:"account_id,omitempty"`
	IntegratorID   string    `dynamodbav:"integrator_id,omitempty" json:"integrator_id,omitempty"`
	Environment    string    `dynamodbav:"environment,omitempty" json:"environment,omitempty"`
	UpdatedAt      time.Time `dynamodbav:"updated_at" json:"updated_at"`
	// WebhookURLs are the partner's own webhook URLs to register with the
	// provider, by endpoint kind (computed on read, not stored).
	WebhookURLs map[string]string `dynamodbav:"-" json:"webhook_urls,omitempty"`
}

// Service configures and reads credentials.
type Service struct {
	Store   *store.Store
	Secrets secrets.Store
	Stripe  *stripeapi.Factory
	Stage   string
	Now     func() time.Time
	IDs     *ids.Generator // webhook secret IDs
	// PublicBaseURL is this deployment's public URL; when set, the status
	// names the partner's webhook URLs.
	PublicBaseURL string
}

func statusSK(provider string) string { return "INTEGRATION#" + provider }

// ValidProvider reports whether p is a provider we integrate.
func ValidProvider(p string) bool { return p == Stripe || p == Qualpay }

func notFound(provider string) error {
	return apperr.New(apperr.NotFound, "no %s credentials are configured", provider)
}

// The formats are compiled on first use, not at init: most functions link this
// package but never validate a key, and init time is every cold start's cost.
var (
	stripeSecretRe = lazyRegexp(`^(sk|rk)_(test|live)_[A-Za-z0-9]{8,247}$`)
	clientIDRe     = lazyRegexp(`^ca_[A-Za-z0-9]{8,64}$`)
	// Stripe documents only the whsec_ prefix of a signing secret
	// (https://docs.stripe.com/webhooks/signature); the length is not checked.
	whsecRe = lazyRegexp(`^whsec_[!-~]+$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// maxSecretLen bounds any stored secret (request caps, not a format rule).
const maxSecretLen = 512

// opaqueSecret accepts what Qualpay documents about its keys and secrets:
// nothing beyond "a string". Only emptiness, length caps and whitespace or
// control characters (which no copied key contains) are refused.
func opaqueSecret(s string) bool {
	if s == "" || len(s) > maxSecretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// ConfigureStripe validates, checks the key against Stripe, then stores it.
func (s *Service) ConfigureStripe(ctx context.Context, partnerID string, c StripeCredentials) (Status, error) {
	bad := map[string]string{}
	if !stripeSecretRe().MatchString(c.SecretKey) {
		bad["secret_key"] = "must be a Stripe secret or restricted key (sk_test_…, sk_live_…, rk_…)"
	}
	if !clientIDRe().MatchString(c.ClientID) {
		bad["client_id"] = "must be a Stripe Connect client ID (ca_…)"
	}
	if c.WebhookSecret != "" && !validStripeSecret(c.WebhookSecret) {
		bad["webhook_secret"] = "must be a Stripe webhook signing secret (whsec_…)"
	}
	if len(bad) > 0 {
		return Status{}, apperr.FieldErrors(bad)
	}
	set, err := s.keptSecrets(ctx, partnerID, Stripe, KindConnect, c.WebhookSecret)
	if err != nil {
		return Status{}, err
	}
	c.WebhookSecrets = set
	c.WebhookSecret = ""
	acct, err := s.Stripe.Client(c.SecretKey).Accounts.Get()
	if err != nil {
		return Status{}, stripeCheckError(err)
	}
	st := Status{
		Provider: Stripe, Configured: true, Livemode: stripeapi.Livemode(c.SecretKey),
		SecretKeyLast4: c.SecretKey[len(c.SecretKey)-4:], ClientID: c.ClientID, AccountID: acct.ID,
	}
	return s.save(ctx, partnerID, st, c)
}

// stripeCheckError turns Stripe's answer to the key check into a client error
// without echoing anything Stripe may have said about the key itself.
func stripeCheckError(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch {
		case se.HTTPStatusCode == 401 || se.HTTPStatusCode == 403:
			return apperr.FieldErrors(map[string]string{"secret_key": "Stripe rejected this key (authentication failed)"})
		case se.HTTPStatusCode == 429:
			return &apperr.Error{Code: apperr.RateLimited, Message: "Stripe is rate limiting; retry shortly", RetryAfter: 5}
		case se.HTTPStatusCode >= 500:
			return &apperr.Error{Code: apperr.BadGateway, Message: "Stripe is unavailable; retry shortly", RetryAfter: 10}
		default:
			return apperr.FieldErrors(map[string]string{"secret_key": "Stripe refused the key check: " + string(se.Code)})
		}
	}
	return &apperr.Error{Code: apperr.BadGateway, Message: "could not reach Stripe to check the key; retry shortly", RetryAfter: 10}
}

// ConfigureQualpay validates and stores Qualpay keys.
func (s *Service) ConfigureQualpay(ctx context.Context, partnerID string, c QualpayCredentials) (Status, error) {
	bad := map[string]string{}
	if !opaqueSecret(c.SecurityKey) {
		bad["security_key"] = "must be your Qualpay security key"
	}
	if n, err := strconv.ParseInt(c.IntegratorID, 10, 64); err != nil || n <= 0 {
		bad["integrator_id"] = "must be your Qualpay integrator (vendor) ID, a positive integer"
	}
	if c.WebhookSecret != "" && !opaqueSecret(c.WebhookSecret) {
		bad["webhook_secret"] = "must be a Qualpay webhook secret, as Qualpay Manager shows it"
	}
	if (c.WebhookUsername == "") != (c.WebhookPassword == "") {
		bad["webhook_username"] = "give both webhook_username and webhook_password (HTTP Basic), or neither"
	} else if c.WebhookUsername != "" && (len(c.WebhookUsername) > 256 || strings.ContainsAny(c.WebhookUsername, ":\r\n") || !opaqueSecret(c.WebhookPassword)) {
		bad["webhook_username"] = "HTTP Basic credentials: a username without ':' and a password, each at most 256 characters"
	}
	if c.Environment == "" {
		c.Environment = "sandbox"
	}
	if c.Environment != "sandbox" && c.Environment != "production" {
		bad["environment"] = `must be "sandbox" or "production"`
	}
	if len(bad) > 0 {
		return Status{}, apperr.FieldErrors(bad)
	}
	set, err := s.keptSecrets(ctx, partnerID, Qualpay, KindQualpay, c.WebhookSecret)
	if err != nil {
		return Status{}, err
	}
	c.WebhookSecrets = set
	c.WebhookSecret = ""
	st := Status{
		Provider: Qualpay, Configured: true, Livemode: c.Environment == "production",
		SecretKeyLast4: last4(c.SecurityKey), IntegratorID: c.IntegratorID, Environment: c.Environment,
	}
	return s.save(ctx, partnerID, st, c)
}

// last4 shows the end of a key only when the key is long enough to hide the rest.
func last4(s string) string {
	if len(s) < 16 {
		return ""
	}
	return s[len(s)-4:]
}

// save writes the secret first, then the metadata: a crash in between leaves a
// secret with no status, which the client's retry of the same PUT completes.
func (s *Service) save(ctx context.Context, partnerID string, st Status, secret any) (Status, error) {
	raw, err := json.Marshal(secret)
	if err != nil {
		return Status{}, err
	}
	if err := s.Secrets.Put(ctx, secrets.Name(s.Stage, partnerID, st.Provider), raw); err != nil {
		return Status{}, fmt.Errorf("store %s secret: %w", st.Provider, err)
	}
	st.PartnerID, st.UpdatedAt = partnerID, s.Now().UTC().Truncate(time.Second)
	st.PK, st.SK = store.PartnerPK(partnerID), statusSK(st.Provider)
	if err := s.Store.Put(ctx, st); err != nil {
		return Status{}, fmt.Errorf("store %s status: %w", st.Provider, err)
	}
	return st, nil
}

// Get returns the masked status; 404 when not configured.
func (s *Service) Get(ctx context.Context, partnerID, provider string) (Status, error) {
	var st Status
	if err := s.Store.Get(ctx, store.PartnerPK(partnerID), statusSK(provider), &st); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Status{}, notFound(provider)
		}
		return Status{}, err
	}
	return st, nil
}

// Delete removes the secret, then the status; 404 when neither existed.
// The order makes a crash safe: a retry finds the status and finishes.
func (s *Service) Delete(ctx context.Context, partnerID, provider string) error {
	name := secrets.Name(s.Stage, partnerID, provider)
	existed := false
	if _, err := s.Secrets.Get(ctx, name); err == nil {
		existed = true
		if err := s.Secrets.Delete(ctx, name); err != nil && !errors.Is(err, secrets.ErrNotFound) {
			return fmt.Errorf("delete %s secret: %w", provider, err)
		}
	} else if !errors.Is(err, secrets.ErrNotFound) {
		return fmt.Errorf("read %s secret: %w", provider, err)
	}
	switch err := s.Store.DeleteExisting(ctx, store.PartnerPK(partnerID), statusSK(provider), nil); {
	case err == nil:
		existed = true
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("delete %s status: %w", provider, err)
	}
	if !existed {
		return notFound(provider)
	}
	return nil
}

// StripeKeys returns a partner's Stripe keys for the adapters; 404 apperr when
// not configured. Every value is handed to the log redactor first.
func (s *Service) StripeKeys(ctx context.Context, partnerID string) (StripeCredentials, error) {
	var c StripeCredentials
	if err := s.load(ctx, partnerID, Stripe, &c); err != nil {
		return c, err
	}
	if c.WebhookSecret != "" && len(c.WebhookSecrets) == 0 { // stored before secret sets
		c.WebhookSecrets = []WebhookSecret{{ID: legacySecretID, Kind: KindConnect, Secret: c.WebhookSecret}}
	}
	c.WebhookSecret = ""
	httpapi.RememberSecrets(c.SecretKey)
	rememberWebhookSecrets(c.WebhookSecrets)
	return c, nil
}

// QualpayKeys returns a partner's Qualpay keys; 404 apperr when not configured.
func (s *Service) QualpayKeys(ctx context.Context, partnerID string) (QualpayCredentials, error) {
	var c QualpayCredentials
	if err := s.load(ctx, partnerID, Qualpay, &c); err != nil {
		return c, err
	}
	if c.WebhookSecret != "" && len(c.WebhookSecrets) == 0 {
		c.WebhookSecrets = []WebhookSecret{{ID: legacySecretID, Kind: KindQualpay, Secret: c.WebhookSecret}}
	}
	c.WebhookSecret = ""
	httpapi.RememberSecrets(c.SecurityKey, c.WebhookPassword)
	rememberWebhookSecrets(c.WebhookSecrets)
	return c, nil
}

func (s *Service) load(ctx context.Context, partnerID, provider string, out any) error {
	raw, err := s.Secrets.Get(ctx, secrets.Name(s.Stage, partnerID, provider))
	if err != nil {
		if errors.Is(err, secrets.ErrNotFound) {
			return notFound(provider)
		}
		return fmt.Errorf("read %s secret: %w", provider, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s secret: %w", provider, errors.New("malformed secret")) // never echo secret bytes
	}
	return nil
}

// NormalizeProvider lower-cases and checks a path provider; 404 when unknown.
func NormalizeProvider(p string) (string, error) {
	p = strings.ToLower(p)
	if !ValidProvider(p) {
		return "", apperr.New(apperr.NotFound, "unknown provider %q (use stripe or qualpay)", p)
	}
	return p, nil
}
