package connect

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
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// Regexps compile on first use, not at init (every cold start pays init).
var acctIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^acct_[A-Za-z0-9]{6,64}$`) })

// keyInText matches API keys (including Stripe's masked form) inside provider messages.
var keyInText = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(sk|rk|pk)_(test|live)_[A-Za-z0-9*]*`) })

// LinkStripe connects an existing Stripe account the platform can already reach
// (partners with existing integrations). created is false when the same
// account was already linked to this company.
func (s *Service) LinkStripe(ctx context.Context, partnerID, companyID, accountID string) (companies.Connection, bool, error) {
	if _, err := s.Companies.Get(ctx, partnerID, companyID); err != nil {
		return companies.Connection{}, false, err
	}
	if !acctIDRe().MatchString(accountID) {
		return companies.Connection{}, false, apperr.FieldErrors(map[string]string{"account_id": "must be a Stripe account ID (acct_…)"})
	}
	keys, err := s.stripeKeys(ctx, partnerID)
	if err != nil {
		return companies.Connection{}, false, err
	}
	params := &stripe.AccountParams{}
	params.Context = ctx
	acct, err := s.Stripe.Client(keys.SecretKey).Accounts.GetByID(accountID, params)
	if err != nil {
		return companies.Connection{}, false, accountCheckError(err)
	}
	if acct.ID != accountID {
		return companies.Connection{}, false, apperr.FieldErrors(map[string]string{"account_id": "Stripe returned a different account"})
	}
	c := companies.Connection{
		PartnerID: partnerID, CompanyID: companyID, Provider: Stripe, AccountID: accountID, Method: MethodLinked,
		Livemode:    stripeapi.Livemode(keys.SecretKey),
		ConnectedAt: s.now().Truncate(time.Second),
	}
	return s.Companies.Connect(ctx, c)
}

// accountCheckError turns Stripe's refusal to retrieve an account into a client error
// carrying Stripe's reason (with any key in it removed).
func accountCheckError(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return &apperr.Error{Code: apperr.BadGateway, Message: "could not reach Stripe to check the account; retry shortly", RetryAfter: 10}
	}
	switch {
	case se.HTTPStatusCode == 401:
		return apperr.New(apperr.Unprocessable, "Stripe rejected the configured secret key; update it with PUT /v1/integrations/stripe")
	case se.HTTPStatusCode == 429:
		return &apperr.Error{Code: apperr.RateLimited, Message: "Stripe is rate limiting; retry shortly", RetryAfter: 5}
	case se.HTTPStatusCode >= 500:
		return &apperr.Error{Code: apperr.BadGateway, Message: "Stripe is unavailable; retry shortly", RetryAfter: 10}
	}
	reason := strings.TrimSpace(keyInText().ReplaceAllString(se.Msg, "[key]"))
	if reason == "" {
		reason = string(se.Code)
	}
	if se.Code != "" {
		reason = string(se.Code) + ": " + reason
	}
	if len(reason) > 300 {
		reason = reason[:300]
	}
	return apperr.FieldErrors(map[string]string{"account_id": "Stripe cannot reach this account (" + reason + ")"})
}

// DisconnectStripe removes the company's Stripe connection. An OAuth connection
// is deauthorized at Stripe first, so a failure there leaves everything in place
// for a retry. A second call is a 404.
func (s *Service) DisconnectStripe(ctx context.Context, partnerID, companyID string) (companies.Connection, error) {
	if _, err := s.Companies.Get(ctx, partnerID, companyID); err != nil {
		return companies.Connection{}, err
	}
	c, err := s.Companies.Connection(ctx, partnerID, companyID, Stripe)
	if err != nil {
		return companies.Connection{}, err
	}
	if c.Method == MethodOAuth {
		if err := s.deauthorize(ctx, partnerID, c.AccountID); err != nil {
			return companies.Connection{}, err
		}
	}
	return s.Companies.Disconnect(ctx, partnerID, companyID, Stripe)
}

func (s *Service) deauthorize(ctx context.Context, partnerID, accountID string) error {
	k, err := s.Keys.StripeKeys(ctx, partnerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			// Without the platform keys there is nothing we can revoke; the
			// partner removed them, so the platform no longer acts on the account.
			s.log().WarnContext(ctx, "stripe disconnect without credentials: not deauthorized at Stripe", "partner_id", partnerID, "account_id", accountID)
			return nil
		}
		return err
	}
	params := &stripe.DeauthorizeParams{ClientID: stripe.String(k.ClientID), StripeUserID: stripe.String(accountID)}
	params.Context = ctx
	_, err = s.Stripe.Client(k.SecretKey).OAuth.Del(params)
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		// Already revoked (by the user in their dashboard, or a previous attempt): the goal is met.
		if se.OAuthError == "invalid_client" && strings.Contains(se.OAuthErrorDescription, "not connected") {
			return nil
		}
		if se.HTTPStatusCode == 429 {
			return &apperr.Error{Code: apperr.RateLimited, Message: "Stripe is rate limiting; retry shortly", RetryAfter: 5}
		}
		if se.HTTPStatusCode < 500 {
			s.log().WarnContext(ctx, "stripe deauthorize refused", "partner_id", partnerID, "account_id", accountID, "oauth_error", se.OAuthError, "status", se.HTTPStatusCode)
			return &apperr.Error{Code: apperr.BadGateway, Message: "Stripe refused to deauthorize the account (" + reasonOr(se.OAuthError, "error") + "); the connection was kept"}
		}
	}
	s.log().WarnContext(ctx, "stripe deauthorize failed", "partner_id", partnerID, "account_id", accountID, "err", err)
	return &apperr.Error{Code: apperr.BadGateway, Message: "could not reach Stripe to deauthorize the account; the connection was kept, retry shortly", RetryAfter: 10}
}

func reasonOr(r, def string) string {
	if reasonRe().MatchString(r) {
		return r
	}
	return def
}

// Deauthorized handles Stripe's account.application.deauthorized for accountID:
// it removes the connection and its routing if there still is one. Nothing
// connected (already disconnected through the API, or never) is not an error.
func (s *Service) Deauthorized(ctx context.Context, accountID string) error {
	r, err := s.Companies.LookupRoute(ctx, Stripe, accountID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil
		}
		return fmt.Errorf("deauthorized %s: %w", accountID, err)
	}
	c, err := s.Companies.Connection(ctx, r.PartnerID, r.CompanyID, Stripe)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil
		}
		return fmt.Errorf("deauthorized %s: %w", accountID, err)
	}
	if c.AccountID != accountID {
		return nil // the company moved on to another account; the stale route is not ours to judge
	}
	if _, err := s.Companies.Disconnect(ctx, r.PartnerID, r.CompanyID, Stripe); err != nil && !apperr.Is(err, apperr.NotFound) {
		return fmt.Errorf("deauthorized %s: %w", accountID, err)
	}
	s.log().InfoContext(ctx, "stripe account deauthorized; connection removed", "partner_id", r.PartnerID, "company_id", r.CompanyID, "account_id", accountID)
	return nil
}

// ParseMerchantID accepts a JSON number or string of digits (Qualpay merchant
// IDs are 12-digit integers; JSON numbers of that size are exact only as text).
func ParseMerchantID(raw json.RawMessage) (int64, bool) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// LinkQualpay connects a Qualpay merchant after checking it is reachable with
// the partner's Qualpay credentials.
func (s *Service) LinkQualpay(ctx context.Context, partnerID, companyID string, merchantID int64) (companies.Connection, bool, error) {
	if _, err := s.Companies.Get(ctx, partnerID, companyID); err != nil {
		return companies.Connection{}, false, err
	}
	keys, err := s.Keys.QualpayKeys(ctx, partnerID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return companies.Connection{}, false, apperr.New(apperr.Unprocessable, "configure Qualpay first (PUT /v1/integrations/qualpay)")
		}
		return companies.Connection{}, false, err
	}
	if err := s.Qualpay.CheckMerchant(ctx, keys, merchantID); err != nil {
		return companies.Connection{}, false, err
	}
	c := companies.Connection{
		PartnerID: partnerID, CompanyID: companyID, Provider: Qualpay, AccountID: strconv.FormatInt(merchantID, 10),
		Method: MethodLinked, Livemode: keys.Environment == "production", ConnectedAt: s.now().Truncate(time.Second),
	}
	conn, created, err := s.Companies.Connect(ctx, c)
	if err != nil || s.QualpayLinked == nil {
		return conn, created, err
	}
	// After the connection is stored: a failure here is a 500 and linking
	// again (which finds the connection) queues the backfill again.
	if err := s.QualpayLinked(ctx, partnerID, companyID, conn.AccountID); err != nil {
		return companies.Connection{}, false, fmt.Errorf("queue qualpay backfill: %w", err)
	}
	return conn, created, nil
}

// DisconnectQualpay removes the company's Qualpay connection; 404 when there is none.
func (s *Service) DisconnectQualpay(ctx context.Context, partnerID, companyID string) (companies.Connection, error) {
	if _, err := s.Companies.Get(ctx, partnerID, companyID); err != nil {
		return companies.Connection{}, err
	}
	return s.Companies.Disconnect(ctx, partnerID, companyID, Qualpay)
}
