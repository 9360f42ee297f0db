package connect

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/store"
)

// StartPath is the first hop of the browser flow: Start Stripe Flow answers a
// URL here, not Stripe's. Opening it binds the flow to that browser (a cookie
// holding a token whose hash is stored with the state), then redirects to
// Stripe. The callback requires the cookie, so an authorize link approved in
// another browser (an attacker's link sent to a victim, or the reverse) cannot
// attach a Stripe account to a company the browser did not start connecting.
const StartPath = CallbackPath + "/start"

// errStateUnbound: the callback came from a browser that did not open the start link.
var errStateUnbound = errors.New("oauth state not bound to this browser")

// bindingCookie names the cookie of one flow (several flows may run in one browser).
func bindingCookie(state string) string {
	h := sha256.Sum256([]byte(state))
	return "payrecon_oauth_" + hex.EncodeToString(h[:8])
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// startURL is the link Start Stripe Flow answers: this deployment's start route.
func startURL(redirectURI, state string) string {
	return strings.TrimSuffix(redirectURI, CallbackPath) + StartPath + "?" + url.Values{"state": {state}}.Encode()
}

// authorizeURL is Stripe's authorize URL for a stored state.
func (s *Service) authorizeURL(rec oauthState, state string) (string, error) {
	authz, err := url.Parse(s.AuthorizeURL)
	if err != nil || !authz.IsAbs() {
		return "", fmt.Errorf("authorize URL %q is not absolute", s.AuthorizeURL)
	}
	q := authz.Query()
	q.Set("response_type", "code")
	q.Set("client_id", rec.ClientID)
	q.Set("scope", "read_write")
	q.Set("state", state)
	q.Set("redirect_uri", rec.RedirectURI)
	authz.RawQuery = q.Encode()
	return authz.String(), nil
}

// Bind ties a started flow to the browser opening the start link, once: it
// stores the hash of a fresh token with the state (only if none is bound yet)
// and returns the cookie carrying the token and Stripe's authorize URL.
func (s *Service) Bind(ctx context.Context, state string) (*http.Cookie, string, error) {
	if !wellFormedState(state) {
		return nil, "", &StateError{errStateMissing}
	}
	tok, err := s.newState() // 256 random bits, like the state
	if err != nil {
		return nil, "", err
	}
	values, err := store.Values(map[string]any{":h": hashToken(tok)})
	if err != nil {
		return nil, "", err
	}
	out, err := s.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Store.Table), Key: store.Key(statePK(state), stateSK),
		UpdateExpression:          aws.String("SET binding_hash = :h"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND attribute_not_exists(binding_hash) AND attribute_not_exists(kind)"),
		ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil, "", &StateError{errStateUnknown} // unknown, used, or already opened in a browser
		}
		return nil, "", fmt.Errorf("bind oauth state: %w", err)
	}
	var rec oauthState
	if err := attributevalue.UnmarshalMap(out.Attributes, &rec); err != nil {
		return nil, "", fmt.Errorf("read oauth state: %w", err)
	}
	left := rec.ExpiresAt.Sub(s.now())
	if left <= 0 {
		return nil, "", &StateError{errStateExpired}
	}
	to, err := s.authorizeURL(rec, state)
	if err != nil {
		return nil, "", err
	}
	cookie := &http.Cookie{
		Name: bindingCookie(state), Value: tok, Path: CallbackPath, MaxAge: int(left / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		// Secure everywhere except the local runner on http://localhost (a
		// browser would not store a Secure cookie from plain http).
		Secure: !localHTTP(rec.RedirectURI),
	}
	return cookie, to, nil
}

func localHTTP(redirectURI string) bool {
	u, err := url.Parse(redirectURI)
	return err == nil && u.Scheme == "http" && IsLoopback(u.Hostname())
}

// checkBinding compares the browser's token with the one bound to the state.
func checkBinding(rec oauthState, token string) error {
	if rec.BindingHash == "" || token == "" ||
		subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(rec.BindingHash)) != 1 {
		return errStateUnbound
	}
	return nil
}

// Stripe's documented OAuth error codes (https://docs.stripe.com/connect/oauth-reference):
// the authorize redirect's and the token exchange's. Only these reach a
// return_url, as a reason code; anything else (and any error_description) is
// reported as "oauth_error".
var stripeOAuthErrors = map[string]bool{
	"access_denied": true, "invalid_request": true, "invalid_scope": true, "invalid_redirect_uri": true,
	"unsupported_response_type": true, "invalid_client": true, "invalid_grant": true, "unsupported_grant_type": true,
}

func oauthReason(code string) string {
	if stripeOAuthErrors[code] {
		return code
	}
	return "oauth_error"
}
