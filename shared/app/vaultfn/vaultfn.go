// Package vaultfn builds the vault function (Qualpay Customer Vault).
package vaultfn

import (
	"net/http"
	"strings"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/vault"
)

// Service builds the Qualpay Customer Vault service.
func Service(e *app.Env) *vault.Service {
	smclient.Use(e) // Qualpay credentials
	return vault.New(e.Store, e.Companies, e.Credentials, vault.Config{HTTP: e.HTTP, QualpayBaseURL: e.Cfg.QualpayBaseURL,
		Now: e.Now, Log: e.Log,
		// "cus_01j…" without the underscore, upper-cased: 29 letters and digits.
		NewCustomerID: func() string { return strings.ToUpper(strings.ReplaceAll(e.IDs.ID("cus"), "_", "")) }})
}

// Handler serves /v1/companies/{id}/qualpay/customers…
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	vault.Routes(r, Service(e))
	return r.Handler()
}
