package qualpay

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
)

// APIError is a failed Qualpay call. Its text names the operation by its spec
// route ("PUT /platform/vault/customer/{customer_id}/billing/delete"), never by
// URL, and carries no credentials. It unwraps to the *apperr.Error callers
// return to clients, so apperr.As / apperr.CodeOf work on it directly.
type APIError struct {
	Op       string // method and spec route
	Status   int    // HTTP status; 0 when Qualpay never answered
	QPCode   int    // Qualpay's envelope code, when present
	Message  string // Qualpay's message, sanitised
	Attempts int    // tries made, retries included

	app        *apperr.Error
	retryable  bool
	retryAfter time.Duration
	cause      string // transport failure class, for logs
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "qualpay %s: ", e.Op)
	if e.Status == 0 {
		b.WriteString(e.cause)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
		if e.QPCode != 0 {
			fmt.Fprintf(&b, " code %d", e.QPCode)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// Unwrap exposes the client-safe error.
func (e *APIError) Unwrap() error { return e.app }

// Retryable reports whether a later identical call may succeed (Qualpay down
// or rate limiting), as opposed to a request Qualpay rejected.
func (e *APIError) Retryable() bool { return e.retryable }

// redact removes the security key, raw or as sent in the Authorization
// header, should Qualpay ever echo it back.
func (e *APIError) redact(key string) *APIError {
	if key == "" {
		return e
	}
	forms := []string{base64.StdEncoding.EncodeToString([]byte(key + ":")), key, url.QueryEscape(key)}
	clean := func(s string) string {
		for _, f := range forms {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
		return s
	}
	e.Message = clean(e.Message)
	if e.app != nil {
		e.app.Message = clean(e.app.Message)
		for k, v := range e.app.Fields {
			e.app.Fields[k] = clean(v)
		}
	}
	return e
}

// finish fixes the client-safe error once retries are over.
func (e *APIError) finish(hintSeconds int) error {
	switch {
	case e.Status == http.StatusTooManyRequests:
		e.app = &apperr.Error{Code: apperr.RateLimited,
			Message: "Qualpay is rate limiting requests; retry later", RetryAfter: hintSeconds}
	case e.Status == 0 || e.Status >= 500:
		e.app = &apperr.Error{Code: apperr.BadGateway,
			Message: "Qualpay is not responding; retry later", RetryAfter: hintSeconds}
	case e.app == nil:
		e.app = apperr.New(apperr.Internal, "internal error")
	}
	return e
}

// The Platform API answers most failures with HTTP 400 and a message (the
// spec lists only 200/400/500 for vault operations), so the kind of failure
// must be read from the message. These patterns are deliberately narrow;
// anything else stays a plain validation error (422).
// Compiled on first use, not during the Lambda cold start.
var (
	notFoundRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)\b(not found|does not exist|doesn't exist|no such|unknown (customer|card|shipping))\b`)
	})
	conflictRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(already exists|duplicate|\bin use\b|used by (an? )?(active )?subscription|(active|existing) subscriptions?)`)
	})
)

// statusError maps a non-2xx response (or a 2xx with a failure code).
func statusError(op string, status int, h http.Header, body []byte, attempt int, now func() time.Time) *APIError {
	e := &APIError{Op: op, Status: status, Attempts: attempt}
	var env struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &env) == nil {
		if env.Code != nil {
			e.QPCode = *env.Code
		}
		e.Message = sanitize(env.Message)
	}
	e.retryAfter = parseRetryAfter(h.Get("Retry-After"), now)
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	switch {
	case status == http.StatusNotFound:
		e.app = apperr.New(apperr.NotFound, "Qualpay: %s", msg)
	case status == http.StatusConflict:
		e.app = apperr.New(apperr.Conflict, "Qualpay: %s", msg)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// The partner's configured key is wrong or lacks access: their
		// configuration to fix, not our caller's authentication.
		e.app = apperr.New(apperr.Unprocessable,
			"Qualpay refused the configured credentials (HTTP %d); check the Qualpay security key and its access to this merchant", status)
	case status >= 400 && status < 500 && status != http.StatusTooManyRequests:
		switch {
		case notFoundRe().MatchString(msg):
			e.app = apperr.New(apperr.NotFound, "Qualpay: %s", msg)
		case conflictRe().MatchString(msg):
			e.app = apperr.New(apperr.Conflict, "Qualpay: %s", msg)
		default:
			ae := apperr.New(apperr.Unprocessable, "Qualpay: %s", msg)
			if f := fieldDetails(env.Data); len(f) > 0 {
				ae.Fields = f
			}
			e.app = ae
		}
	}
	return e
}

// fieldDetails reads Qualpay's optional validation detail in data, either
// {"field":"problem"} or ["problem", …].
func fieldDetails(raw json.RawMessage) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) == nil && len(m) > 0 {
		out := map[string]string{}
		for k, v := range m {
			if s, ok := v.(string); ok && len(out) < 20 {
				out[sanitize(k)] = sanitize(s)
			}
		}
		return out
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		sort.Strings(list)
		out := map[string]string{}
		for i, s := range list {
			if i >= 20 {
				break
			}
			out[fmt.Sprintf("qualpay_%d", i)] = sanitize(s)
		}
		return out
	}
	return nil
}

// transportError classifies a failed round trip without keeping the
// *url.Error, whose text would contain the full request URL.
func transportError(op string, err error) *APIError {
	cause := "network error"
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		cause = "timeout"
	case errors.As(err, &ue):
		var op *net.OpError
		if errors.As(ue.Err, &op) && op.Op == "dial" {
			cause = "connection failed"
		}
	}
	return &APIError{Op: op, cause: cause}
}

func upstreamDecodeError(op string, attempt int, err error) error {
	e := &APIError{Op: op, Attempts: attempt, cause: "unexpected response: " + sanitize(err.Error())}
	e.app = &apperr.Error{Code: apperr.BadGateway, Message: "Qualpay sent an unexpected response", RetryAfter: 30}
	return e
}

// sanitize bounds a Qualpay-supplied string and strips anything resembling a
// card number, so upstream text is safe to log and show.
func sanitize(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s))
	s = maskPANs(s)
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}
