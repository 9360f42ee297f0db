// Package oauthpage is a LOCAL STAND-IN — not Stripe — of Stripe's OAuth
// authorize page, for `make run` and tests without real Stripe. It lives under
// shared/local because it renders with html/template: text/template's reflection
// (reflect.Value.MethodByName) makes the linker keep every exported method of
// every linked type, megabytes with stripe-go and the AWS SDK, so no deployed
// function may link it (shared/local/imports_test.go).
package oauthpage

import (
	"crypto/rand"
	"html/template"
	"net/http"
	"net/url"
	"sync"

	"github.com/payrecon/payrecon/shared/connect"
)

// CodeIssuer mints authorization codes the (fake) token endpoint will accept;
// stripefake.Fake implements it.
type CodeIssuer interface {
	IssueCode(clientID, accountID string) (string, error)
}

// standInPage is parsed on first use: tests and the local runner that never
// open the page do not pay for it.
var standInPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("standin").Parse(standInHTML))
})

const standInHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>LOCAL STAND-IN — not Stripe</title>
<style>body{font-family:system-ui,sans-serif;max-width:38rem;margin:3rem auto;padding:0 1rem;color:#222}
.banner{background:#b00020;color:#fff;padding:.8rem 1rem;font-weight:bold;border-radius:4px}
label{display:block;margin:1rem 0 .3rem}input[type=text]{width:100%;padding:.4rem;font-family:monospace}
button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem}</style></head><body>
<div class="banner">LOCAL STAND-IN — not Stripe. This page only exists on a local payrecon runner; no real Stripe account is involved.</div>
<h1>Connect a Stripe account (simulated)</h1>
<p>Platform <code>{{.ClientID}}</code> asks for <code>{{.Scope}}</code> access. Approving sends you back to
<code>{{.RedirectURI}}</code> with an authorization code the local Stripe fake accepts.</p>
<form method="post">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<label for="acct">Simulated Stripe account ID</label>
<input type="text" id="acct" name="account_id" value="{{.AccountID}}" pattern="acct_[A-Za-z0-9]{6,64}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>
`

// Handler serves a LOCAL STAND-IN — not Stripe — of Stripe's
// OAuth authorize page, for `make run` without real Stripe. GET shows a clearly
// labelled page; POST with decision=approve redirects to redirect_uri with a
// code from codes (and the state), decision=deny with error=access_denied.
//
// It only redirects to loopback hosts (localhost, 127.0.0.1, ::1) unless
// redirect URIs are listed in allowedRedirects, so it is no open redirect even
// if someone exposes it.
func Handler(codes CodeIssuer, allowedRedirects ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			connect.WritePage(w, http.StatusMethodNotAllowed, "Method not allowed", "Use GET or POST.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			connect.WritePage(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return
		}
		clientID, redirectURI, state := r.Form.Get("client_id"), r.Form.Get("redirect_uri"), r.Form.Get("state")
		scope := r.Form.Get("scope")
		if scope == "" {
			scope = "read_only" // Stripe's default when no scope is asked for
		}
		if r.Method == http.MethodGet && r.Form.Get("response_type") != "code" {
			connect.WritePage(w, http.StatusBadRequest, "Bad request", "response_type must be code.")
			return
		}
		if clientID == "" || state == "" || !standInRedirectOK(redirectURI, allowedRedirects) {
			connect.WritePage(w, http.StatusBadRequest, "Bad request", "client_id, state and a local redirect_uri are required.")
			return
		}
		if r.Method == http.MethodGet {
			connect.SecurityHeaders(w)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = standInPage().Execute(w, map[string]string{
				"ClientID": clientID, "RedirectURI": redirectURI, "State": state, "Scope": scope, "AccountID": "acct_" + standInAlnum(16)})
			return
		}
		q := url.Values{"state": {state}}
		if r.Form.Get("decision") == "approve" {
			code, err := codes.IssueCode(clientID, r.Form.Get("account_id"))
			if err != nil {
				connect.WritePage(w, http.StatusBadRequest, "Bad request", "The local Stripe fake refused: "+err.Error())
				return
			}
			q.Set("code", code)
			q.Set("scope", scope)
		} else {
			q.Set("error", "access_denied")
			q.Set("error_description", "The user denied your request")
		}
		connect.SecurityHeaders(w)
		http.Redirect(w, r, connect.WithQuery(redirectURI, q), http.StatusFound)
	})
}

func standInRedirectOK(raw string, allowed []string) bool {
	for _, a := range allowed {
		if raw == a {
			return true
		}
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.User == nil && connect.IsLoopback(u.Hostname())
}

func standInAlnum(n int) string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
