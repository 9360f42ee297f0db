package connect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
)

// StartResult is the answer to Start Stripe Flow.
type StartResult struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// StartStripe begins Stripe Connect OAuth for a company: it stores a single-use
// state (partner, company, return_url) and returns the start link to open in
// the user's browser (StartPath), which redirects to Stripe's authorize URL.
// requestHost is used for redirect_uri only when PublicBaseURL is not configured.
func (s *Service) StartStripe(ctx context.Context, partnerID, companyID, returnURL, requestHost string) (StartResult, error) {
	keys, err := s.beforeStripe(ctx, partnerID, companyID, returnURL)
	if err != nil {
		return StartResult{}, err
	}
	redirectURI, err := s.RedirectURI(requestHost)
	if err != nil {
		return StartResult{}, err
	}
	if _, err := s.authorizeURL(oauthState{}, ""); err != nil {
		return StartResult{}, err
	}
	st, err := s.newState()
	if err != nil {
		return StartResult{}, err
	}
	now := s.now()
	rec := oauthState{
		PartnerID: partnerID, CompanyID: companyID, ReturnURL: returnURL, ClientID: keys.ClientID,
		RedirectURI: redirectURI, CreatedAt: now, ExpiresAt: now.Add(StateTTL).Truncate(time.Second),
	}
	if err := s.saveState(ctx, st, rec); err != nil {
		return StartResult{}, err
	}
	// The browser opens the start link, which binds the flow to it and only
	// then redirects to Stripe (see StartPath).
	return StartResult{URL: startURL(redirectURI, st), ExpiresAt: rec.ExpiresAt}, nil
}

// beforeStripe checks what both ways of getting a Stripe connection need: the
// partner's company (404 otherwise), an acceptable return_url (422), the
// partner's Stripe keys (422), and no Stripe connection yet (409).
func (s *Service) beforeStripe(ctx context.Context, partnerID, companyID, returnURL string) (keysStripe, error) {
	if _, err := s.Companies.Get(ctx, partnerID, companyID); err != nil {
		return keysStripe{}, err
	}
	p, err := s.Partners.Get(ctx, partnerID)
	if err != nil {
		return keysStripe{}, fmt.Errorf("read partner: %w", err)
	}
	if msg := checkReturnURL(returnURL, p.AllowedReturnHosts); msg != "" {
		return keysStripe{}, apperr.FieldErrors(map[string]string{"return_url": msg})
	}
	keys, err := s.stripeKeys(ctx, partnerID)
	if err != nil {
		return keysStripe{}, err
	}
	if c, err := s.Companies.Connection(ctx, partnerID, companyID, Stripe); err == nil {
		return keysStripe{}, &existingError{c}
	} else if !apperr.Is(err, apperr.NotFound) {
		return keysStripe{}, err
	}
	return keys, nil
}

// existingError: the company already has a Stripe connection (a 409).
type existingError struct{ conn companies.Connection }

func (e *existingError) Error() string { return e.Unwrap().Error() }
func (e *existingError) Unwrap() error {
	return apperr.New(apperr.Conflict, "company already has a stripe connection (%s); disconnect it first", e.conn.AccountID)
}

var hostRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:[0-9]{1,5})?$`)
})

// RedirectURI is the OAuth redirect_uri: PublicBaseURL + /integrations/stripe,
// or, when that is not configured, https://<request host> (http for loopback
// hosts, which only the local runner serves).
func (s *Service) RedirectURI(requestHost string) (string, error) {
	if s.PublicBaseURL != "" {
		return strings.TrimRight(s.PublicBaseURL, "/") + CallbackPath, nil
	}
	if !hostRe().MatchString(requestHost) {
		return "", apperr.New(apperr.Invalid, "cannot derive the OAuth redirect URL from the request host")
	}
	u := url.URL{Scheme: "https", Host: requestHost, Path: CallbackPath}
	if IsLoopback(u.Hostname()) {
		u.Scheme = "http"
	}
	return u.String(), nil
}

// stripeKeys loads the partner's Stripe keys; 422 when none are configured.
func (s *Service) stripeKeys(ctx context.Context, partnerID string) (keysStripe, error) {
	k, err := s.Keys.StripeKeys(ctx, partnerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return keysStripe{}, apperr.New(apperr.Unprocessable, "configure Stripe first (PUT /v1/integrations/stripe)")
		}
		return keysStripe{}, err
	}
	return keysStripe{SecretKey: k.SecretKey, ClientID: k.ClientID}, nil
}

type keysStripe struct{ SecretKey, ClientID string }

// StateError is returned by Callback when the request cannot be tied to a stored
// state: the caller must answer with an error page, never a redirect.
type StateError struct{ err error }

func (e *StateError) Error() string { return e.err.Error() }
func (e *StateError) Unwrap() error { return e.err }

// Expired reports whether the state existed but had expired.
func (e *StateError) Expired() bool { return errors.Is(e.err, errStateExpired) }

var reasonRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z_]{1,64}$`) })

// Callback completes the OAuth redirect. It returns the URL to send the browser
// to: always the return_url stored with the state, with status=connected or
// status=error&reason=…. A *StateError means there is no trustworthy place to
// redirect to; any other error is an internal failure before the state was used.
//
// binding is the token of the browser's binding cookie (see StartPath): a
// state not bound to this browser is refused like an unknown one (and is used
// up, so it cannot be replayed elsewhere).
func (s *Service) Callback(ctx context.Context, q url.Values, binding string) (string, error) {
	rec, err := s.consumeState(ctx, q.Get("state"))
	if err == nil {
		err = checkBinding(rec, binding)
	}
	if err != nil {
		if errors.Is(err, errStateMissing) || errors.Is(err, errStateUnknown) || errors.Is(err, errStateExpired) || errors.Is(err, errStateUnbound) {
			return "", &StateError{err}
		}
		return "", err
	}
	log := s.log().With("partner_id", rec.PartnerID, "company_id", rec.CompanyID)
	fail := func(reason string) string {
		log.WarnContext(ctx, "stripe oauth not completed", "reason", reason)
		return WithQuery(rec.ReturnURL, url.Values{"status": {"error"}, "reason": {reason}, "company_id": {rec.CompanyID}})
	}
	if e := q.Get("error"); e != "" {
		// Stripe's documented codes pass through as reason codes; error_description never does.
		return fail(oauthReason(e)), nil
	}
	code := q.Get("code")
	if code == "" || len(code) > 256 {
		return fail("missing_code"), nil
	}
	keys, err := s.stripeKeys(ctx, rec.PartnerID)
	if err != nil {
		if apperr.Is(err, apperr.Unprocessable) {
			return fail("stripe_not_configured"), nil
		}
		log.ErrorContext(ctx, "stripe oauth: read keys", "err", err)
		return fail("server_error"), nil
	}
	params := &stripe.OAuthTokenParams{
		GrantType: stripe.String("authorization_code"), Code: stripe.String(code),
		// Set explicitly: stripe-go otherwise falls back to the global stripe.Key.
		ClientSecret: stripe.String(keys.SecretKey),
	}
	params.Context = ctx
	tok, err := s.Stripe.Client(keys.SecretKey).OAuth.New(params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode < 500 && se.OAuthError != "" {
			log.WarnContext(ctx, "stripe oauth: code exchange refused", "oauth_error", oauthReason(se.OAuthError), "status", se.HTTPStatusCode)
			return fail(oauthReason(se.OAuthError)), nil
		}
		log.ErrorContext(ctx, "stripe oauth: code exchange failed", "err", err)
		return fail("stripe_unavailable"), nil
	}
	// tok also carries an access token: deliberately dropped here, never stored or logged.
	if !acctIDRe().MatchString(tok.StripeUserID) {
		log.ErrorContext(ctx, "stripe oauth: token response without a valid stripe_user_id")
		return fail("exchange_failed"), nil
	}
	conn := companies.Connection{
		PartnerID: rec.PartnerID, CompanyID: rec.CompanyID, Provider: Stripe, AccountID: tok.StripeUserID,
		Method: MethodOAuth, Livemode: tok.Livemode, Scope: string(tok.Scope), ConnectedAt: s.now().Truncate(time.Second),
	}
	if _, _, err := s.Companies.Connect(ctx, conn); err != nil {
		switch {
		case errors.Is(err, companies.ErrAccountTaken):
			// Nothing is overwritten, and the account is not deauthorized: the
			// existing connection may rely on this very authorization.
			return fail("account_already_connected"), nil
		case apperr.Is(err, apperr.Conflict):
			return fail("company_already_connected"), nil
		}
		log.ErrorContext(ctx, "stripe oauth: store connection", "err", err)
		return fail("server_error"), nil
	}
	log.InfoContext(ctx, "stripe account connected", "account_id", conn.AccountID, "method", MethodOAuth)
	return WithQuery(rec.ReturnURL, url.Values{"status": {"connected"}, "company_id": {rec.CompanyID}}), nil
}
