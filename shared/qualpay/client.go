// Package qualpay is a small, hand-written client for the parts of Qualpay's
// Platform API that payrecon uses: the Customer Vault, a merchant reachability
// check, recurring-billing subscriptions (read only) and the reporting calls
// that itemise a deposit. Shapes follow ../shared/specs/qualpay-openapi.yaml
// (Qualpay's "Platform and PG API", paths relative to /platform).
//
// Safety properties, each covered by tests against qualpayfake:
//   - the security key travels only in the Authorization header (HTTP basic,
//     key as user, empty password, as the spec's basicAuth scheme says); no
//     error or log line carries it or a request URL;
//   - amounts are decoded from the raw JSON text into exact decimals and then
//     int64 minor units (shared/money); float64 never touches money;
//   - vault requests are refused before sending when any value looks like a
//     raw card number (see FindPAN), so a PAN can never be forwarded;
//   - retries use exponential backoff with jitter, only on 429, 5xx and
//     transport failures, bounded and context-aware (see Config); a POST is
//     resent only after 429 or 503, when Qualpay cannot have acted on it.
package qualpay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Qualpay hosts. Platform API paths live under /platform on both.
const (
	SandboxBaseURL    = "https://api-test.qualpay.com"
	ProductionBaseURL = "https://api.qualpay.com"
)

// Environments, as stored with a partner's credentials.
const (
	Sandbox    = "sandbox"
	Production = "production"
)

// BaseURLFor maps a partner's configured environment to Qualpay's host.
// An empty environment means sandbox (the credentials default).
func BaseURLFor(environment string) (string, error) {
	switch environment {
	case Sandbox, "":
		return SandboxBaseURL, nil
	case Production:
		return ProductionBaseURL, nil
	default:
		return "", fmt.Errorf("qualpay: unknown environment %q (want %q or %q)", environment, Sandbox, Production)
	}
}

// Defaults for Config's retry fields.
const (
	DefaultMaxAttempts   = 4
	DefaultBaseBackoff   = 200 * time.Millisecond
	DefaultMaxBackoff    = 3 * time.Second
	DefaultMaxRetryAfter = 10 * time.Second
	maxResponseBytes     = 16 << 20 // a page of 100 reporting rows is far smaller
)

// Config configures a Client. HTTPClient and SecurityKey are required.
type Config struct {
	// Environment selects the host ("sandbox" or "production") when BaseURL is empty.
	Environment string
	// BaseURL overrides the host (tests, QUALPAY_BASE_URL). Scheme and host
	// only, optionally a path prefix; no credentials, query or fragment.
	BaseURL string
	// SecurityKey is the partner's Qualpay security key (basic-auth user).
	SecurityKey string
	// HTTPClient sends requests. It must have a Timeout: a hung Qualpay must
	// not hold a Lambda until its own deadline.
	HTTPClient *http.Client

	// MaxAttempts bounds tries per call, first one included (default 4).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the exponential backoff: attempt n
	// waits a random duration in [d/2, d] with d = min(MaxBackoff, BaseBackoff·2^(n-1)).
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps how long a Retry-After header may make us wait in
	// process; beyond it the call fails fast and hands the hint to the caller.
	MaxRetryAfter time.Duration
	// Sleep waits between attempts; tests inject a recorder. It must return
	// early with ctx.Err() when ctx ends. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a float in [0,1) for jitter. Default: math/rand/v2.
	Rand func() float64
	// Now reads the clock (Retry-After HTTP dates). Default: time.Now.
	Now func() time.Time
	// UserAgent is sent on every request (default "payrecon-qualpay/1").
	UserAgent string
}

// Client calls Qualpay's Platform API with one partner's key. It is cheap to
// build (no I/O) and safe for concurrent use.
type Client struct {
	base string // scheme://host[/prefix], no trailing slash
	key  string
	cfg  Config
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.HTTPClient == nil {
		return nil, errors.New("qualpay: Config.HTTPClient is required")
	}
	if cfg.HTTPClient.Timeout <= 0 {
		return nil, errors.New("qualpay: Config.HTTPClient must have a Timeout")
	}
	if strings.TrimSpace(cfg.SecurityKey) == "" {
		return nil, errors.New("qualpay: Config.SecurityKey is required")
	}
	base := cfg.BaseURL
	if base == "" {
		var err error
		if base, err = BaseURLFor(cfg.Environment); err != nil {
			return nil, err
		}
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("qualpay: BaseURL must be an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		// Credentials in a URL end up in error strings and proxies' logs.
		return nil, errors.New("qualpay: BaseURL must not carry credentials, a query or a fragment")
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = DefaultBaseBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "payrecon-qualpay/1"
	}
	return &Client{base: strings.TrimRight(u.String(), "/"), key: cfg.SecurityKey, cfg: cfg}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// call describes one Platform API request.
type call struct {
	method string
	// route is the spec's path template ("/vault/customer/{customer_id}"); it
	// names the operation in errors instead of the concrete URL.
	route string
	// path is the concrete path under /platform, already escaped.
	path  string
	query url.Values
	body  any
	// vault marks requests that carry customer data: they pass the PAN guard.
	vault bool
}

// envelope is Qualpay's response wrapper: {code, message, data}. List calls
// add totalPages/totalRecords.
type envelope struct {
	Code         *int            `json:"code"`
	Message      string          `json:"message"`
	Data         json.RawMessage `json:"data"`
	TotalPages   *int            `json:"totalPages"`
	TotalRecords *int            `json:"totalRecords"`
}

// do sends c with retries and decodes a successful envelope into env.
func (cl *Client) do(ctx context.Context, c call, env *envelope) error {
	op := c.method + " /platform" + c.route
	var payload []byte
	if c.body != nil {
		var err error
		if payload, err = json.Marshal(c.body); err != nil {
			return fmt.Errorf("qualpay %s: encode request: %w", op, err)
		}
	}
	if c.vault {
		if err := guardPAN(c, payload); err != nil {
			return err
		}
	}
	target := cl.base + "/platform" + c.path
	if len(c.query) > 0 {
		target += "?" + c.query.Encode()
	}

	var last *APIError
	for attempt := 1; ; attempt++ {
		res, err := cl.once(ctx, c.method, target, payload)
		var apiErr *APIError
		switch {
		case err != nil:
			if ctx.Err() != nil {
				// The caller gave up; report that, not an upstream fault.
				return fmt.Errorf("qualpay %s: %w", op, ctx.Err())
			}
			apiErr = transportError(op, err)
			// A POST may have reached Qualpay before the connection broke:
			// resending could create a second card or customer.
			apiErr.retryable = c.method != http.MethodPost
		default:
			if res.status >= 200 && res.status < 300 {
				if err := json.Unmarshal(res.body, env); err != nil {
					return upstreamDecodeError(op, attempt, err)
				}
				if env.Code != nil && *env.Code != 0 {
					// A 200 whose envelope says failure is still a failure.
					e := statusError(op, http.StatusBadRequest, res.header, res.body, attempt, cl.cfg.Now)
					return e.redact(cl.key).finish(cl.hint(e))
				}
				return nil
			}
			apiErr = statusError(op, res.status, res.header, res.body, attempt, cl.cfg.Now)
			apiErr.retryable = retryableStatus(c.method, res.status)
		}
		apiErr.Attempts = attempt
		last = apiErr
		if !apiErr.retryable || attempt >= cl.cfg.MaxAttempts {
			break
		}
		wait := cl.backoff(attempt)
		if apiErr.retryAfter > 0 {
			if apiErr.retryAfter > cl.cfg.MaxRetryAfter {
				break // Qualpay asked for longer than we may hold the request
			}
			wait = max(wait, apiErr.retryAfter)
		}
		if dl, ok := ctx.Deadline(); ok && cl.cfg.Now().Add(wait).After(dl) {
			break // no time left for another try; give the caller the hint instead
		}
		if err := cl.cfg.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("qualpay %s: %w", op, err)
		}
	}
	return last.redact(cl.key).finish(cl.hint(last))
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (cl *Client) once(ctx context.Context, method, target string, payload []byte) (*rawResponse, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(cl.key, "")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", cl.cfg.UserAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := cl.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxResponseBytes {
		return nil, errors.New("response body too large")
	}
	return &rawResponse{status: res.StatusCode, header: res.Header, body: b}, nil
}

// retryableStatus: 429 and 503 mean the request was not processed, so any
// method may be resent. Other 5xx (a 500, a gateway's 502/504) may come after
// Qualpay did the work, so only idempotent methods retry them: resending a
// POST could add a second card or customer.
func retryableStatus(method string, status int) bool {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return true
	case status >= 500:
		return method != http.MethodPost
	default:
		return false
	}
}

// backoff returns the wait before attempt+1: "equal jitter" keeps a floor of
// half the exponential step so retries never hammer, the random half
// de-synchronises concurrent callers.
func (cl *Client) backoff(attempt int) time.Duration {
	d := cl.cfg.BaseBackoff
	for i := 1; i < attempt && d < cl.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, cl.cfg.MaxBackoff)
	half := d / 2
	return half + time.Duration(cl.cfg.Rand()*float64(half))
}

// hint is the RetryAfter (seconds) offered to our own callers.
func (cl *Client) hint(e *APIError) int {
	d := e.retryAfter
	if d <= 0 {
		d = cl.cfg.MaxBackoff
	}
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now func() time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now()); d > 0 {
			return d
		}
	}
	return 0
}

// decodeData unmarshals env.Data into out; an absent data is an upstream fault.
func decodeData(op string, env *envelope, out any) error {
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return upstreamDecodeError(op, 1, errors.New("response has no data"))
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return upstreamDecodeError(op, 1, err)
	}
	return nil
}

// pathEscape escapes one path segment (customer IDs are alphanumeric, but a
// caller's typo must not be able to change the route).
func pathEscape(s string) string { return url.PathEscape(s) }

func merchantQuery(merchantID int64) url.Values {
	return url.Values{"merchant_id": {strconv.FormatInt(merchantID, 10)}}
}
