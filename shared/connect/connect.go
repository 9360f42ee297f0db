// Package connect is how a partner's companies connect their payment accounts:
// the companies API, "Start Stripe Flow" (Stripe Connect OAuth with single-use,
// server-side state), linking an existing Stripe account or Qualpay merchant,
// and disconnecting. It never keeps OAuth access tokens: the platform acts on a
// connected account with its own key plus the Stripe-Account header.
package connect

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/partners"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// Providers.
const (
	Stripe  = "stripe"
	Qualpay = "qualpay"
)

// Connection methods.
const (
	MethodOAuth  = "oauth"
	MethodLinked = "linked"
)

// StateTTL is how long a Start Stripe Flow URL stays usable.
const StateTTL = 15 * time.Minute

// Keys is the part of the credentials service this package needs.
type Keys interface {
	StripeKeys(ctx context.Context, partnerID string) (credentials.StripeCredentials, error)
	QualpayKeys(ctx context.Context, partnerID string) (credentials.QualpayCredentials, error)
}

// Partners reads partner settings (allowed return hosts).
type Partners interface {
	Get(ctx context.Context, partnerID string) (partners.Partner, error)
}

// StripeClients makes stripe-go clients for a secret key (stripeapi.Factory).
type StripeClients interface {
	Client(key string) *stripeapi.Clients
}

// MerchantChecker proves a Qualpay merchant is reachable with a partner's keys.
type MerchantChecker interface {
	CheckMerchant(ctx context.Context, keys credentials.QualpayCredentials, merchantID int64) error
}

// Service holds the dependencies; build it once per cold start.
type Service struct {
	Store     *store.Store
	Companies *companies.Service
	Partners  Partners
	Keys      Keys
	Stripe    StripeClients
	Qualpay   MerchantChecker
	Log       *slog.Logger
	Now       func() time.Time
	// Random is the entropy for OAuth state (crypto/rand when nil).
	Random io.Reader
	// PublicBaseURL is this deployment's public URL; the OAuth redirect_uri is
	// PublicBaseURL + CallbackPath. Empty: derived from the request's host.
	PublicBaseURL string
	// AuthorizeURL is where users are sent to approve (Stripe's, or the local stand-in).
	AuthorizeURL string
	// OnboardingStandInURL is set by the local runner only: onboarding links
	// then go to its labelled stand-in page (stripe-mock's link URL is fixed).
	OnboardingStandInURL string
	// QualpayLinked, when set, is told of every successful Qualpay link (new
	// or repeated): it registers the merchant's pull and queues its backfill.
	QualpayLinked func(ctx context.Context, partnerID, companyID, merchantID string) error
}

// CallbackPath is the OAuth redirect route (the stripe-oauth function).
const CallbackPath = "/integrations/stripe"

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) random() io.Reader {
	if s.Random != nil {
		return s.Random
	}
	return rand.Reader
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
