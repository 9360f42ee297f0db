// Package stripefake is an httptest fake of what stripe-mock lacks: Stripe
// Connect OAuth (POST /oauth/token, POST /oauth/deauthorize), with single-use
// authorization codes and a record of which platform authorized which account.
// Optionally it answers GET /v1/accounts/{id} with Stripe's "no access" error for
// accounts marked unreachable and proxies every other /v1 request to an upstream
// (stripe-mock), so one URL can serve as both StripeAPIURL and StripeConnectURL.
//
// It is a test and local-development double only; it checks request shapes the
// way Stripe does, but accepts any well-formed secret key.
package stripefake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Options configure a fake.
type Options struct {
	// APIUpstream, when set, receives every request that is not OAuth and not an
	// unreachable account (e.g. stripe-mock's URL).
	APIUpstream string
}

// Exchange records one successful code exchange.
type Exchange struct {
	Code, SecretKey, ClientID, AccountID string
}

// Deauthorization records one deauthorize call that found a connection.
type Deauthorization struct {
	SecretKey, ClientID, AccountID string
}

type grant struct {
	clientID, accountID string
	used                bool
}

// Fake is the fake's state; safe for concurrent use.
type Fake struct {
	URL string // base URL when started with New; "" when only used as a handler

	srv      *httptest.Server
	upstream http.Handler

	mu          sync.Mutex
	codes       map[string]*grant
	connected   map[[2]string]bool // {clientID, accountID}
	unreachable map[string]bool
	exchanges   []Exchange
	deauths     []Deauthorization
	failures    map[string]*failure // path -> injected failure
}

type failure struct {
	status, times int
}

// NewHandler returns a fake without starting a server (mount f where you like).
func NewHandler(opts Options) (*Fake, error) {
	f := &Fake{codes: map[string]*grant{}, connected: map[[2]string]bool{}, unreachable: map[string]bool{}, failures: map[string]*failure{}}
	if opts.APIUpstream != "" {
		u, err := url.Parse(opts.APIUpstream)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("stripefake: bad upstream %q", opts.APIUpstream)
		}
		f.upstream = httputil.NewSingleHostReverseProxy(u)
	}
	return f, nil
}

// New starts the fake on an httptest server; Close it when done.
func New(opts Options) (*Fake, error) {
	f, err := NewHandler(opts)
	if err != nil {
		return nil, err
	}
	f.srv = httptest.NewServer(f)
	f.URL = f.srv.URL
	return f, nil
}

// Close stops the server started by New.
func (f *Fake) Close() {
	if f.srv != nil {
		f.srv.Close()
	}
}

var (
	acctRe   = regexp.MustCompile(`^acct_[A-Za-z0-9]{1,64}$`)
	clientRe = regexp.MustCompile(`^ca_[A-Za-z0-9]{1,64}$`)
	keyRe    = regexp.MustCompile(`^(sk|rk)_(test|live)_[A-Za-z0-9]{1,247}$`)
)

// IssueCode is what Stripe does when the user approves: a single-use code that
// the platform clientID can exchange for accountID. A new random account is
// minted when accountID is empty.
func (f *Fake) IssueCode(clientID, accountID string) (string, error) {
	if !clientRe.MatchString(clientID) {
		return "", fmt.Errorf("stripefake: bad client_id %q", clientID)
	}
	if accountID == "" {
		accountID = "acct_" + randAlnum(16)
	}
	if !acctRe.MatchString(accountID) {
		return "", fmt.Errorf("stripefake: bad account id %q", accountID)
	}
	code := "ac_" + randAlnum(24)
	f.mu.Lock()
	f.codes[code] = &grant{clientID: clientID, accountID: accountID}
	f.mu.Unlock()
	return code, nil
}

// Connect marks accountID as authorized for the platform clientID (as if through OAuth earlier).
func (f *Fake) Connect(clientID, accountID string) {
	f.mu.Lock()
	f.connected[[2]string{clientID, accountID}] = true
	f.mu.Unlock()
}

// Connected reports whether accountID is authorized for the platform clientID.
func (f *Fake) Connected(clientID, accountID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected[[2]string{clientID, accountID}]
}

// SetUnreachable makes GET /v1/accounts/{id} answer Stripe's "no access" error.
func (f *Fake) SetUnreachable(accountID string) {
	f.mu.Lock()
	f.unreachable[accountID] = true
	f.mu.Unlock()
}

// Exchanges returns the successful code exchanges so far.
func (f *Fake) Exchanges() []Exchange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Exchange(nil), f.exchanges...)
}

// Deauthorizations returns the deauthorize calls that removed a connection.
func (f *Fake) Deauthorizations() []Deauthorization {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Deauthorization(nil), f.deauths...)
}

// Fail makes the next times requests to path (e.g. "/oauth/deauthorize") answer
// status with a Stripe-shaped error, before any other processing (a Stripe outage).
func (f *Fake) Fail(path string, status, times int) {
	f.mu.Lock()
	f.failures[path] = &failure{status: status, times: times}
	f.mu.Unlock()
}

func (f *Fake) takeFailure(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.failures[path]
	if fl == nil || fl.times <= 0 {
		return 0
	}
	fl.times--
	return fl.status
}

// ServeHTTP implements the fake's endpoints.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if st := f.takeFailure(r.URL.Path); st != 0 {
		if strings.HasPrefix(r.URL.Path, "/oauth/") {
			oauthError(w, st, "server_error", "An unknown error occurred")
		} else {
			writeJSON(w, st, map[string]any{"error": map[string]any{"type": "api_error", "message": "An unknown error occurred"}})
		}
		return
	}
	switch {
	case r.URL.Path == "/oauth/token":
		f.token(w, r)
	case r.URL.Path == "/oauth/deauthorize":
		f.deauthorize(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/accounts/") && f.isUnreachable(strings.TrimPrefix(r.URL.Path, "/v1/accounts/")):
		key := bearer(r)
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "code": "account_invalid",
			"message": fmt.Sprintf("The provided key '%s' does not have access to account '%s' (or that account does not exist). Application access may have been revoked.",
				maskKey(key), strings.TrimPrefix(r.URL.Path, "/v1/accounts/")),
		}})
	case f.upstream != nil:
		f.upstream.ServeHTTP(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
			"type": "invalid_request_error", "message": "Unrecognized request URL (" + r.Method + ": " + r.URL.Path + ")."}})
	}
}

func (f *Fake) isUnreachable(acct string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unreachable[acct]
}

// oauthError writes Stripe's OAuth error shape ({"error","error_description"}).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// platformKey returns the secret key from client_secret or the bearer header; Stripe accepts either.
func platformKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "Only POST is allowed")
		return "", false
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Malformed form body")
		return "", false
	}
	key := r.PostForm.Get("client_secret")
	if key == "" {
		key = bearer(r)
	}
	if b := bearer(r); b != "" && key != b {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client_secret does not match the Authorization header")
		return "", false
	}
	if !keyRe.MatchString(key) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "No valid API key provided")
		return "", false
	}
	return key, true
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	key, ok := platformKey(w, r)
	if !ok {
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("Unsupported grant type: %q", gt))
		return
	}
	code := r.PostForm.Get("code")
	if code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "No authorization code provided")
		return
	}
	f.mu.Lock()
	g := f.codes[code]
	switch {
	case g == nil:
		f.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code does not exist: "+code)
		return
	case g.used:
		f.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "This authorization code has already been used. All tokens issued with this code have been revoked.")
		return
	}
	g.used = true
	f.connected[[2]string{g.clientID, g.accountID}] = true
	f.exchanges = append(f.exchanges, Exchange{Code: code, SecretKey: key, ClientID: g.clientID, AccountID: g.accountID})
	f.mu.Unlock()
	live := strings.Contains(key, "_live_")
	mode := "test"
	if live {
		mode = "live"
	}
	// Stripe returns a (deprecated) access token too; callers must not keep it.
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": "sk_" + mode + "_oauth" + randAlnum(24), "refresh_token": "rt_" + randAlnum(24),
		"stripe_publishable_key": "pk_" + mode + "_" + randAlnum(24), "token_type": "bearer",
		"livemode": live, "scope": "read_write", "stripe_user_id": g.accountID,
	})
}

func (f *Fake) deauthorize(w http.ResponseWriter, r *http.Request) {
	key, ok := platformKey(w, r)
	if !ok {
		return
	}
	clientID, acct := r.PostForm.Get("client_id"), r.PostForm.Get("stripe_user_id")
	if clientID == "" || acct == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_id and stripe_user_id are required")
		return
	}
	f.mu.Lock()
	k := [2]string{clientID, acct}
	if !f.connected[k] {
		f.mu.Unlock()
		oauthError(w, http.StatusUnauthorized, "invalid_client",
			fmt.Sprintf("This application is not connected to stripe account %s, or that account does not exist.", acct))
		return
	}
	delete(f.connected, k)
	f.deauths = append(f.deauths, Deauthorization{SecretKey: key, ClientID: clientID, AccountID: acct})
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"stripe_user_id": acct})
}

func bearer(r *http.Request) string {
	scheme, v, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(v)
}

// maskKey mimics Stripe, which shows only a key's prefix and last 4 characters.
func maskKey(k string) string {
	if len(k) < 12 {
		return "sk_***"
	}
	return k[:8] + strings.Repeat("*", len(k)-12) + k[len(k)-4:]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake"+randAlnum(12))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}
