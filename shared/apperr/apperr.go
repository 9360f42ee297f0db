// Package apperr is the domain error type: a machine code, a message safe to show
// a client, and optional per-field details. Packages return these; the HTTP edge
// maps codes to statuses. Anything that is not an *Error is an internal failure
// and reaches clients only as "internal error".
package apperr

import (
	"errors"
	"fmt"
)

// Codes, each with one HTTP status (see Status).
const (
	Invalid          = "invalid_request"      // 400
	Unauthorized     = "unauthorized"         // 401
	Forbidden        = "forbidden"            // 403
	NotFound         = "not_found"            // 404
	MethodNotAllowed = "method_not_allowed"   // 405
	Conflict         = "conflict"             // 409
	TooLarge         = "request_too_large"    // 413
	Unprocessable    = "unprocessable_entity" // 422
	RateLimited      = "rate_limited"         // 429
	Internal         = "internal_error"       // 500
	BadGateway       = "upstream_error"       // 502
	Unavailable      = "unavailable"          // 503
)

// Error is a client-safe error.
type Error struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	// RetryAfter, in seconds, hints clients when to retry (429/502/503).
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New makes an error with a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Fields makes a 422 naming each bad field.
func FieldErrors(fields map[string]string) *Error {
	return &Error{Code: Unprocessable, Message: "some fields are missing or invalid", Fields: fields}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the code of err, or Internal for anything that is not an *Error.
func CodeOf(err error) string {
	if e, ok := As(err); ok {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool { return err != nil && CodeOf(err) == code }

// Status maps a code to its HTTP status.
func Status(code string) int {
	switch code {
	case Invalid:
		return 400
	case Unauthorized:
		return 401
	case Forbidden:
		return 403
	case NotFound:
		return 404
	case MethodNotAllowed:
		return 405
	case Conflict:
		return 409
	case TooLarge:
		return 413
	case Unprocessable:
		return 422
	case RateLimited:
		return 429
	case BadGateway:
		return 502
	case Unavailable:
		return 503
	default:
		return 500
	}
}
