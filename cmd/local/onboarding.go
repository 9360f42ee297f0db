package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/connect"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// onboardingStandInPath serves a LOCAL STAND-IN — not Stripe — of Stripe's
// hosted onboarding: stripe-mock answers every account link with one fixed
// URL, so the local runner sends the browser here instead
// (connect.Service.OnboardingStandInURL).
const onboardingStandInPath = "/_local/stripe/onboarding"

var onboardingPage = template.Must(template.New("onboarding").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LOCAL STAND-IN — not Stripe</title>
<style>body{font-family:system-ui,sans-serif;max-width:38rem;margin:3rem auto;padding:0 1rem}
.banner{background:#b00020;color:#fff;padding:.8rem 1rem;font-weight:bold;border-radius:4px}</style></head><body>
<div class="banner">LOCAL STAND-IN — not Stripe. This page only exists on a local payrecon runner.</div>
<h1>Onboard Stripe account {{.Account}} (simulated)</h1>
<p>Finish sends a signed <code>account.updated</code> (charges and details enabled) to the partner's
Connect webhook, as Stripe would, then returns to the app.</p>
<form method="post"><input type="hidden" name="account" value="{{.Account}}">
<input type="hidden" name="partner" value="{{.Partner}}"><input type="hidden" name="return_url" value="{{.ReturnURL}}">
<button type="submit">Finish</button></form></body></html>
`))

// onboardingStandIn: GET shows the labelled page; POST signs an account.updated
// with the partner's Connect endpoint secret, delivers it to api (this
// runner's routes) and follows the return URL, which must be this runner's
// onboarding return route (no open redirect).
func onboardingStandIn(e *app.Env, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		acct, partner, ret := r.Form.Get("account"), r.Form.Get("partner"), r.Form.Get("return_url")
		u, err := url.Parse(ret)
		if err != nil || !strings.HasPrefix(acct, "acct_") || partner == "" || u.Path != connect.OnboardingReturnPath {
			http.Error(w, "account, partner and this runner's return URL are required", http.StatusBadRequest)
			return
		}
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = onboardingPage.Execute(w, map[string]string{"Account": acct, "Partner": partner, "ReturnURL": ret})
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
			return
		}
		if err := deliverAccountUpdated(r, e, api, partner, acct); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, ret, http.StatusSeeOther)
	})
}

// deliverAccountUpdated posts what Stripe sends a platform's Connect endpoint
// when an Express account finishes onboarding (https://docs.stripe.com/connect/express-accounts,
// "Handle users that have not completed onboarding": account.updated with
// charges_enabled / details_submitted).
func deliverAccountUpdated(r *http.Request, e *app.Env, api http.Handler, partner, acct string) error {
	keys, err := e.Credentials.StripeKeys(r.Context(), partner)
	if err != nil {
		return fmt.Errorf("partner keys: %w", err)
	}
	secrets := credentials.SecretsOf(keys.WebhookSecrets, credentials.KindConnect)
	if len(secrets) == 0 {
		return fmt.Errorf("partner has no Connect webhook secret")
	}
	now := time.Now()
	body, _ := json.Marshal(map[string]any{
		"id": fmt.Sprintf("evt_local_%d", now.UnixNano()), "object": "event", "type": "account.updated",
		"account": acct, "created": now.Unix(), "livemode": stripeapi.Livemode(keys.SecretKey), "api_version": "2023-10-16",
		"data": map[string]any{"object": map[string]any{"id": acct, "object": "account", "type": "express",
			"charges_enabled": true, "details_submitted": true, "payouts_enabled": true}},
	})
	req := httptest.NewRequest(http.MethodPost, "/stripe/"+partner+"/connect", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", demo.SignStripe(body, secrets[0], now))
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req.WithContext(r.Context()))
	if rec.Code != http.StatusOK {
		return fmt.Errorf("connect webhook answered %d", rec.Code)
	}
	return nil
}
