package connect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// "Create a Stripe account": an Express connected account on the partner's
// platform, onboarded through Stripe-hosted Account Links
// (https://docs.stripe.com/connect/express-accounts,
// https://docs.stripe.com/connect/hosted-onboarding). The connection is stored
// "pending" until a verified account.updated says the account can charge or
// has submitted its details.

// Onboarding routes (public, served by the stripe-oauth function). Stripe
// sends the browser to refresh_url when a link expired or was already visited
// (we must make a new link, https://docs.stripe.com/api/account_links/create)
// and to return_url when the user leaves the flow (which does not mean it is
// complete: account.updated says that).
const (
	OnboardingRefreshPath = CallbackPath + "/onboarding/refresh"
	OnboardingReturnPath  = CallbackPath + "/onboarding/return"
)

// MethodOnboarding is a connection whose account this service created.
const MethodOnboarding = "onboarding"

const kindOnboarding = "onboarding"

// OnboardingResult is the answer to "Create a Stripe account". URL is the
// Account Link (a bearer URL valid a few minutes): handed to the caller once,
// never stored or logged.
type OnboardingResult struct {
	URL        string               `json:"url"`
	ExpiresAt  time.Time            `json:"expires_at"`
	Connection companies.Connection `json:"connection"`
}

// StartOnboarding creates an Express account for a company that has no Stripe
// connection, stores it as a pending connection, and returns an onboarding
// link. Called again while that connection is pending, it returns a new link
// for the same account.
func (s *Service) StartOnboarding(ctx context.Context, partnerID, companyID, returnURL, requestHost string) (OnboardingResult, error) {
	keys, err := s.beforeStripe(ctx, partnerID, companyID, returnURL)
	var ex *existingError
	resume := errors.As(err, &ex) && ex.conn.Method == MethodOnboarding && !ex.conn.Active()
	if err != nil && !resume {
		return OnboardingResult{}, err
	}
	redirectURI, err := s.RedirectURI(requestHost)
	if err != nil {
		return OnboardingResult{}, err
	}
	if resume {
		// The user left onboarding unfinished (or the link call failed): a new
		// link for the same account, not a second account.
		if keys, err = s.stripeKeys(ctx, partnerID); err != nil {
			return OnboardingResult{}, err
		}
		link, exp, err := s.newAccountLink(ctx, keys.SecretKey, oauthState{
			PartnerID: partnerID, CompanyID: companyID, ReturnURL: returnURL, RedirectURI: redirectURI, AccountID: ex.conn.AccountID,
		})
		if err != nil {
			return OnboardingResult{}, err
		}
		return OnboardingResult{URL: link, ExpiresAt: exp, Connection: ex.conn}, nil
	}
	params := &stripe.AccountParams{Type: stripe.String(string(stripe.AccountTypeExpress))}
	params.Context = ctx
	params.AddMetadata("payrecon_company_id", companyID)
	acct, err := s.Stripe.Client(keys.SecretKey).Accounts.New(params)
	if err != nil {
		s.log().ErrorContext(ctx, "stripe onboarding: create account", "partner_id", partnerID, "err", err)
		return OnboardingResult{}, apperr.New(apperr.Unavailable, "Stripe did not create the account; try again")
	}
	if !acctIDRe().MatchString(acct.ID) {
		return OnboardingResult{}, fmt.Errorf("stripe onboarding: account response without a valid id")
	}
	conn := companies.Connection{
		PartnerID: partnerID, CompanyID: companyID, Provider: Stripe, AccountID: acct.ID, Method: MethodOnboarding,
		Livemode: stripeapi.Livemode(keys.SecretKey), Status: companies.StatusPending,
		ConnectedAt: s.now().Truncate(time.Second),
	}
	conn, _, err = s.Companies.Connect(ctx, conn)
	if err != nil {
		return OnboardingResult{}, err
	}
	s.log().InfoContext(ctx, "stripe account created for onboarding", "partner_id", partnerID, "company_id", companyID, "account_id", acct.ID)
	link, exp, err := s.newAccountLink(ctx, keys.SecretKey, oauthState{
		PartnerID: partnerID, CompanyID: companyID, ReturnURL: returnURL, RedirectURI: redirectURI, AccountID: acct.ID,
	})
	if err != nil {
		return OnboardingResult{}, err
	}
	return OnboardingResult{URL: link, ExpiresAt: exp, Connection: conn}, nil
}

// newAccountLink stores a fresh single-use state for rec and creates an
// account_onboarding link whose refresh and return URLs carry it.
func (s *Service) newAccountLink(ctx context.Context, secretKey string, rec oauthState) (string, time.Time, error) {
	st, err := s.newState()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	rec.Kind, rec.CreatedAt, rec.ExpiresAt = kindOnboarding, now, now.Add(StateTTL).Truncate(time.Second)
	if err := s.saveState(ctx, st, rec); err != nil {
		return "", time.Time{}, err
	}
	base := strings.TrimSuffix(rec.RedirectURI, CallbackPath)
	q := "?" + url.Values{"state": {st}}.Encode()
	params := &stripe.AccountLinkParams{
		Account: stripe.String(rec.AccountID), Type: stripe.String("account_onboarding"),
		RefreshURL: stripe.String(base + OnboardingRefreshPath + q), ReturnURL: stripe.String(base + OnboardingReturnPath + q),
	}
	params.Context = ctx
	link, err := s.Stripe.Client(secretKey).AccountLinks.New(params)
	if err != nil || link.URL == "" {
		s.log().ErrorContext(ctx, "stripe onboarding: create account link", "account_id", rec.AccountID, "err", err)
		return "", time.Time{}, apperr.New(apperr.Unavailable, "Stripe did not create the onboarding link; try again")
	}
	to := link.URL
	if s.OnboardingStandInURL != "" {
		// Local runner only: stripe-mock answers one fixed link URL, so the
		// browser goes to the labelled stand-in page instead.
		to = s.OnboardingStandInURL + "?" + url.Values{"account": {rec.AccountID}, "partner": {rec.PartnerID},
			"return_url": {*params.ReturnURL}}.Encode()
	}
	return to, time.Unix(link.ExpiresAt, 0).UTC(), nil
}

// consumeOnboarding uses up an onboarding state (any other state is refused like an unknown one).
func (s *Service) consumeOnboarding(ctx context.Context, st string) (oauthState, error) {
	rec, err := s.consumeState(ctx, st)
	if err == nil && rec.Kind != kindOnboarding {
		err = errStateUnknown
	}
	if err != nil {
		if errors.Is(err, errStateMissing) || errors.Is(err, errStateUnknown) || errors.Is(err, errStateExpired) {
			return oauthState{}, &StateError{err}
		}
		return oauthState{}, err
	}
	return rec, nil
}

// handleOnboardingRefresh answers Stripe's refresh_url: a new link, then a redirect to it.
func (s *Service) handleOnboardingRefresh(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.consumeOnboarding(r.Context(), r.URL.Query().Get("state"))
	if err != nil {
		return s.refusePage(w, r, err)
	}
	keys, err := s.stripeKeys(r.Context(), rec.PartnerID)
	if err != nil {
		return s.refusePage(w, r, err)
	}
	c, err := s.Companies.Connection(r.Context(), rec.PartnerID, rec.CompanyID, Stripe)
	if err != nil || c.AccountID != rec.AccountID {
		// Disconnected (or replaced) meanwhile: nothing to onboard any more.
		return s.refusePage(w, r, &StateError{errStateUnknown})
	}
	to, _, err := s.newAccountLink(r.Context(), keys.SecretKey, rec)
	if err != nil {
		return s.refusePage(w, r, err)
	}
	SecurityHeaders(w)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// handleOnboardingReturn answers Stripe's return_url: back to the partner's page.
func (s *Service) handleOnboardingReturn(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.consumeOnboarding(r.Context(), r.URL.Query().Get("state"))
	if err != nil {
		return s.refusePage(w, r, err)
	}
	status := "pending"
	if c, err := s.Companies.Connection(r.Context(), rec.PartnerID, rec.CompanyID, Stripe); err == nil && c.AccountID == rec.AccountID && c.Active() {
		status = "connected"
	}
	SecurityHeaders(w)
	http.Redirect(w, r, WithQuery(rec.ReturnURL, url.Values{"status": {status}, "company_id": {rec.CompanyID}}), http.StatusSeeOther)
	return nil
}

func (s *Service) handleOnboarding(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ReturnURL string `json:"return_url"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.StartOnboarding(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), in.ReturnURL, r.Host)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, res)
}

// AccountUpdated handles a verified account.updated from a partner's Connect
// endpoint: a pending connection of the account becomes active once the
// account can charge or has submitted its details.
func (s *Service) AccountUpdated(ctx context.Context, partnerID, companyID, accountID string, chargesEnabled, detailsSubmitted bool) error {
	if !chargesEnabled && !detailsSubmitted {
		return nil
	}
	changed, err := s.Companies.Activate(ctx, partnerID, companyID, Stripe, accountID)
	if changed {
		s.log().InfoContext(ctx, "stripe account onboarded", "partner_id", partnerID, "company_id", companyID, "account_id", accountID)
	}
	return err
}
