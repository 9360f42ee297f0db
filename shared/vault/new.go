package vault

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/store"
)

// Config is what New needs besides the stores.
type Config struct {
	HTTP           *http.Client
	QualpayBaseURL string // overrides the credentials' environment host (fake, sandbox)
	NewCustomerID  func() string
	Now            func() time.Time
	Log            *slog.Logger
}

// New builds the vault service. The Qualpay client is made per call from the
// partner's credentials (cheap, no I/O) on the shared HTTP client; an API
// caller may be waiting, so it retries briefly and hands a longer Retry-After
// back rather than sleeping through it. The vault function and the worker
// (Account Updater) both build it here.
func New(st *store.Store, cos Companies, keys Keys, cfg Config) *Service {
	return &Service{
		Store: st, Companies: cos, Keys: keys, Now: cfg.Now, Log: cfg.Log, NewCustomerID: cfg.NewCustomerID,
		Client: func(k credentials.QualpayCredentials) (Qualpay, error) {
			return qualpay.New(qualpay.Config{Environment: k.Environment, BaseURL: cfg.QualpayBaseURL,
				SecurityKey: k.SecurityKey, HTTPClient: cfg.HTTP, MaxAttempts: 3, MaxRetryAfter: 2 * time.Second})
		},
	}
}
