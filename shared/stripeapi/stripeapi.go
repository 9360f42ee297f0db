// Package stripeapi builds stripe-go clients for a partner's key against a
// configurable base URL (stripe-mock and httptest fakes in tests, Stripe in prod).
package stripeapi

import (
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/account"
	"github.com/stripe/stripe-go/v76/accountlink"
	"github.com/stripe/stripe-go/v76/balancetransaction"
	"github.com/stripe/stripe-go/v76/charge"
	"github.com/stripe/stripe-go/v76/oauth"
	"github.com/stripe/stripe-go/v76/paymentintent"
	"github.com/stripe/stripe-go/v76/transfer"
	"github.com/stripe/stripe-go/v76/transferreversal"
)

// Clients are the stripe-go service clients payrecon calls, for one key, under
// client.API's field names. Not client.API itself: its Init builds all of
// stripe-go's ≈130 service clients, and so links every one into each function.
type Clients struct {
	Accounts            *account.Client
	AccountLinks        *accountlink.Client
	BalanceTransactions *balancetransaction.Client
	Charges             *charge.Client
	OAuth               *oauth.Client
	PaymentIntents      *paymentintent.Client
	Transfers           *transfer.Client
	TransferReversals   *transferreversal.Client
}

// Config says where Stripe is. Empty URLs mean Stripe's real endpoints.
type Config struct {
	APIURL     string // e.g. http://127.0.0.1:12111 for stripe-mock
	ConnectURL string // OAuth host (connect.stripe.com); a fake in tests
	HTTPClient *http.Client
	// MaxRetries for network errors and 409/429/5xx (stripe-go retries with idempotency keys).
	MaxRetries int64
}

// Factory makes clients per secret key; backends are built once and shared.
type Factory struct {
	backends *stripe.Backends
}

// NewFactory builds the shared backends.
func NewFactory(cfg Config) *Factory {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	// stripe-go's default logger prints request details to stderr; ours logs once at the edge.
	quiet := &stripe.LeveledLogger{Level: stripe.LevelNull}
	mk := func(typ stripe.SupportedBackend, url string) stripe.Backend {
		c := &stripe.BackendConfig{HTTPClient: hc, LeveledLogger: quiet, MaxNetworkRetries: stripe.Int64(cfg.MaxRetries)}
		if url != "" {
			c.URL = stripe.String(url)
		}
		return stripe.GetBackendWithConfig(typ, c)
	}
	return &Factory{backends: &stripe.Backends{
		API:     mk(stripe.APIBackend, cfg.APIURL),
		Connect: mk(stripe.ConnectBackend, cfg.ConnectURL),
		Uploads: mk(stripe.UploadsBackend, cfg.APIURL),
	}}
}

// Client returns the service clients authenticated with key (OAuth on the
// Connect backend, as client.API does).
func (f *Factory) Client(key string) *Clients {
	b := f.backends
	return &Clients{
		Accounts:            &account.Client{B: b.API, Key: key},
		AccountLinks:        &accountlink.Client{B: b.API, Key: key},
		BalanceTransactions: &balancetransaction.Client{B: b.API, Key: key},
		Charges:             &charge.Client{B: b.API, Key: key},
		OAuth:               &oauth.Client{B: b.Connect, Key: key},
		PaymentIntents:      &paymentintent.Client{B: b.API, Key: key},
		Transfers:           &transfer.Client{B: b.API, Key: key},
		TransferReversals:   &transferreversal.Client{B: b.API, Key: key},
	}
}

// Livemode reports whether a Stripe key is a live key.
func Livemode(key string) bool {
	return len(key) > 8 && (key[:8] == "sk_live_" || key[:8] == "rk_live_")
}
