package connect

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/payrecon/payrecon/shared/httpapi"
)

// The callback answers browsers, not API clients: HTML pages, and redirects
// only to a return_url that came from a stored state (never from the request).

// messagePage is formatted with explicit escaping rather than html/template:
// text/template's reflection keeps every method of every linked type alive,
// which made the stripe-oauth binary 18 MB instead of 11.
const messagePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>%[1]s</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.3rem}</style>
</head><body><h1>%[1]s</h1><p>%[2]s</p></body></html>
`

// SecurityHeaders are set on every page and redirect the connect flow (and its
// local stand-ins) answers a browser with.
func SecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the callback URL carries the code and state
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
}

// WritePage answers a browser with a small escaped message page.
func WritePage(w http.ResponseWriter, status int, title, text string) {
	SecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, messagePage, httpapi.EscapeHTML(title), httpapi.EscapeHTML(text))
}

// handleStart binds the flow to this browser and sends it on to Stripe.
func (s *Service) handleStart(w http.ResponseWriter, r *http.Request) error {
	cookie, to, err := s.Bind(r.Context(), r.URL.Query().Get("state"))
	if err != nil {
		return s.refusePage(w, r, err)
	}
	SecurityHeaders(w)
	http.SetCookie(w, cookie)
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

func (s *Service) handleCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name, binding := bindingCookie(q.Get("state")), ""
	if c, err := r.Cookie(name); err == nil {
		binding = c.Value
	}
	to, err := s.Callback(r.Context(), q, binding)
	// The binding is single-use like the state: drop the cookie either way.
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: CallbackPath, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if err != nil {
		return s.refusePage(w, r, err)
	}
	SecurityHeaders(w)
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// refusePage answers a flow that cannot go on: a page, never a redirect.
func (s *Service) refusePage(w http.ResponseWriter, r *http.Request, err error) error {
	var se *StateError
	if errors.As(err, &se) {
		s.log().WarnContext(r.Context(), "stripe oauth flow refused", "path", r.URL.Path, "reason", se.Error())
		text := "This connection link is not valid. It may have expired, already been used, or been opened in another browser. Go back to the app you came from and start connecting again."
		if se.Expired() {
			text = "This connection link has expired (links are valid for 15 minutes). Go back to the app you came from and start connecting again."
		}
		WritePage(w, http.StatusBadRequest, "Link expired or invalid", text)
		return nil
	}
	s.log().ErrorContext(r.Context(), "stripe oauth flow failed", "path", r.URL.Path, "err", err)
	WritePage(w, http.StatusInternalServerError, "Something went wrong", "We could not complete the connection. Please try again in a moment.")
	return nil
}
