package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/shared/apperr"
)

type errorBody struct {
	Error *apperr.Error `json:"error"`
}

// WriteJSON writes v with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error":{"code","message"}}. Errors that are not *apperr.Error
// are logged (once, here) and reach the client only as "internal error".
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e, ok := apperr.As(err)
	if !ok || e.Code == apperr.Internal {
		if log != nil {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		e = apperr.New(apperr.Internal, "internal error")
	}
	status := apperr.Status(e.Code)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	_ = WriteJSON(w, status, errorBody{Error: e})
}

// DecodeJSON reads a JSON object body into v: 413 when over the route's cap,
// 400 when malformed, trailing data or not an object.
func DecodeJSON(r *http.Request, v any) error {
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	return Unmarshal(body, v)
}

// Unmarshal decodes a JSON object with numbers kept exact (json.Number) where v uses them.
func Unmarshal(body []byte, v any) error {
	if len(body) == 0 {
		return apperr.New(apperr.Invalid, "request body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return apperr.FieldErrors(map[string]string{te.Field: "has the wrong type (" + te.Value + ")"})
		}
		return apperr.New(apperr.Invalid, "request body is not valid JSON")
	}
	return nil
}

// ReadBody reads the whole (capped) body; 413 when over the cap.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apperr.New(apperr.TooLarge, "request body is larger than %d bytes", mbe.Limit)
		}
		return nil, apperr.New(apperr.Invalid, "could not read request body")
	}
	return b, nil
}
