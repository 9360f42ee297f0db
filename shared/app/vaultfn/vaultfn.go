// Package vaultfn builds the vault function (Qualpay Customer Vault).
package vaultfn

import (
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/vault"
)

// Service builds the Qualpay Customer Vault service. The Qualpay client
// is made per request from the partner's credentials (cheap, no I/O) on the
// shared HTTP client; QUALPAY_BASE_URL overrides the environment's host.
func Service(e *app.Env) *vault.Service {
	return &vault.Service{
		Store: e.Store, Companies: e.Companies, Keys: e.Credentials, Now: e.Now, Log: e.Log,
		Client: func(k credentials.QualpayCredentials) (vault.Qualpay, error) {
			// An API caller is waiting: retry briefly, and hand a longer
			// Retry-After back to the caller rather than sleep through it.
			return qualpay.New(qualpay.Config{Environment: k.Environment, BaseURL: e.Cfg.QualpayBaseURL,
				SecurityKey: k.SecurityKey, HTTPClient: e.HTTP, MaxAttempts: 3, MaxRetryAfter: 2 * time.Second})
		},
		// "cus_01j…" without the underscore, upper-cased: 29 letters and digits.
		NewCustomerID: func() string { return strings.ToUpper(strings.ReplaceAll(e.IDs.ID("cus"), "_", "")) },
	}
}

// Handler serves /v1/companies/{id}/qualpay/customers…
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	vault.Routes(r, Service(e))
	return r.Handler()
}
