package embed

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// PagePath serves the page; its assets and API live under it.
const PagePath = "/embed"

const (
	cookieName = "payrecon_embed"
	csrfHeader = "X-CSRF-Token"
)

//go:embed assets
var assets embed.FS

// page fills an embedded HTML file's {{.Name}} placeholders with HTML-escaped
// values. Every placeholder sits in element text or a double-quoted attribute,
// where httpapi.EscapeHTML is the whole escaping needed. html/template is not
// used on purpose: its reflection keeps every exported method of every linked
// type alive, which took this function's binary from ≈9 MB to 18.5 MB.
func page(name string, values map[string]string) (string, error) {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		return "", err
	}
	// Every placeholder of the file needs a value. The file is checked, not the
	// output: a value may itself contain "{{" (a company's name).
	for rest := string(b); ; {
		i := strings.Index(rest, "{{.")
		if i < 0 {
			break
		}
		rest = rest[i+len("{{."):]
		key, _, ok := strings.Cut(rest, "}}")
		if _, set := values[key]; !ok || !set {
			return "", errors.New("embed: " + name + " has a placeholder without a value")
		}
	}
	pairs := make([]string, 0, 2*len(values))
	for k, v := range values {
		pairs = append(pairs, "{{."+k+"}}", httpapi.EscapeHTML(v))
	}
	// One pass over the file: a value's text is never read as a placeholder.
	return strings.NewReplacer(pairs...).Replace(string(b)), nil
}

// writePage renders before writing the status, so a broken page is a 500, not half a page.
func writePage(w http.ResponseWriter, status int, name string, values map[string]string) error {
	body, err := page(name, values)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err = w.Write([]byte(body))
	return err
}

// Routes mounts the partner API (API key) and the page with its API (cookie
// session), but for the reconciliation writes (MatchRoutes).
func Routes(r *httpapi.Router, s *Service) {
	r.Handle(http.MethodPost, "/v1/companies/{id}/embed-sessions", s.handleCreate)
	r.Handle(http.MethodGet, "/v1/embed-settings", s.handleGetSettings)
	r.Handle(http.MethodPut, "/v1/embed-settings", s.handlePutSettings)

	pub := []httpapi.Option{httpapi.Public(), httpapi.MaxBody(0)}
	r.Handle(http.MethodGet, PagePath, s.handlePage, pub...)
	r.Handle(http.MethodGet, PagePath+"/assets/{name}", s.handleAsset, pub...)
	s.apiRoutes(r)
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var in CreateInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	out, err := s.CreateSession(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), in, s.baseURL(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpapi.WriteJSON(w, http.StatusCreated, out)
}

func (s *Service) handleGetSettings(w http.ResponseWriter, r *http.Request) error {
	out, err := s.GetSettings(r.Context(), httpapi.PartnerID(r.Context()))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handlePutSettings(w http.ResponseWriter, r *http.Request) error {
	var in Settings
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	out, err := s.PutSettings(r.Context(), httpapi.PartnerID(r.Context()), in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, out)
}

// baseURL is PublicBaseURL, or the request's own origin (http only on loopback).
func (s *Service) baseURL(r *http.Request) string {
	if s.PublicBaseURL != "" {
		return strings.TrimRight(s.PublicBaseURL, "/")
	}
	u := url.URL{Scheme: "https", Host: r.Host}
	if isLoopback(u.Hostname()) {
		u.Scheme = "http"
	}
	return u.String()
}

// securityHeaders: a strict CSP (only this origin's script and style, no inline
// script), framing only by the partner's allowed origins, no sniffing, no referrer
// (the first URL carries the token), nothing cached.
func securityHeaders(w http.ResponseWriter, frameAncestors []string) {
	fa := "'none'"
	if len(frameAncestors) > 0 {
		fa = strings.Join(frameAncestors, " ")
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors "+fa)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// csrfToken is derived from the session ID, which only the HttpOnly cookie
// holds: another site can neither read the cookie nor compute the token.
func csrfToken(sid string) string {
	h := sha256.Sum256([]byte("payrecon-embed-csrf:" + sid))
	return hex.EncodeToString(h[:])
}

func (s *Service) setCookie(w http.ResponseWriter, r *http.Request, sess Session) {
	secure := !isLoopback(hostOnly(r.Host))
	c := &http.Cookie{Name: cookieName, Value: sess.ID, Path: PagePath, HttpOnly: true, Secure: secure,
		MaxAge: int(SessionTTL.Seconds()), SameSite: http.SameSiteLaxMode}
	if secure {
		// Inside the partner's iframe the page is a third-party context.
		c.SameSite = http.SameSiteNoneMode
		c.Partitioned = true
	}
	http.SetCookie(w, c)
}

func hostOnly(hostport string) string {
	u := url.URL{Host: hostport}
	return u.Hostname()
}

// handlePage exchanges ?token= for a session cookie and redirects to the bare
// page (so the token leaves the address bar), or serves the page for a session.
// Every refusal is the same error page: no data, no reason that tells an
// expired token from a foreign or used one.
func (s *Service) handlePage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if tok := r.URL.Query().Get("token"); tok != "" {
		sess, err := s.Exchange(ctx, tok)
		if err != nil {
			return s.refuse(w, r, err)
		}
		s.setCookie(w, r, sess)
		securityHeaders(w, nil)
		w.Header().Set("Location", s.baseURL(r)+PagePath)
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	sess, err := s.session(r)
	if err != nil {
		return s.refuse(w, r, err)
	}
	set, err := s.GetSettings(ctx, sess.PartnerID)
	if err != nil {
		return err
	}
	co, err := s.Companies.Get(ctx, sess.PartnerID, sess.CompanyID)
	if err != nil {
		return s.refuse(w, r, err)
	}
	securityHeaders(w, set.AllowedOrigins)
	return writePage(w, http.StatusOK, "index.html", map[string]string{
		"CSRF": csrfToken(sess.ID), "Company": co.Name, "Locale": sess.Locale, "Components": strings.Join(sess.Components, " "),
		"Base": PagePath,
	})
}

func (s *Service) refuse(w http.ResponseWriter, r *http.Request, err error) error {
	if !errors.Is(err, errInvalid) && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	securityHeaders(w, nil)
	return writePage(w, http.StatusUnauthorized, "error.html", map[string]string{"Base": PagePath})
}

func (s *Service) session(r *http.Request) (Session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return Session{}, errInvalid
	}
	return s.Lookup(r.Context(), c.Value)
}

var assetTypes = map[string]string{"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}

func (s *Service) handleAsset(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	ct, ok := assetTypes[name]
	if !ok {
		return apperr.New(apperr.NotFound, "no such asset")
	}
	b, err := fs.ReadFile(assets, "assets/"+name)
	if err != nil {
		return err
	}
	securityHeaders(w, nil)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

// apiHandler is a page API handler: it runs with the cookie session.
type apiHandler func(w http.ResponseWriter, r *http.Request, sess Session) error

// api wraps h: a live session covering one of components, and for writes the CSRF
// header and (when the browser sends one) a same-origin Origin.
func (s *Service) api(components []string, write bool, h apiHandler) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		securityHeaders(w, nil)
		sess, err := s.session(r)
		if err != nil {
			if errors.Is(err, errInvalid) {
				return apperr.New(apperr.Unauthorized, "the embed session is missing or expired; reload the page from your app")
			}
			return err
		}
		if write {
			got := r.Header.Get(csrfHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(sess.ID))) != 1 {
				return apperr.New(apperr.Forbidden, "missing or invalid CSRF token")
			}
			if o := r.Header.Get("Origin"); o != "" && o != s.baseURL(r) {
				return apperr.New(apperr.Forbidden, "cross-origin request refused")
			}
		}
		if len(components) > 0 && !sess.Allows(components...) {
			return apperr.New(apperr.Forbidden, "this embed session does not include the %s component", strings.Join(components, " or "))
		}
		return h(w, r, sess)
	}
}
