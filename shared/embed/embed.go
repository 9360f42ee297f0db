// Package embed serves the Embedded UI partners drop into their app: embed
// sessions (a short-lived, single-company token scoped to components, modelled
// on Stripe's Account Sessions), the cookie session the page runs on, and the
// page's own small API over the existing connect, payouts and reconciliation
// services. See docs/embedded.md.
package embed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/connect"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/store"
)

// Components a session can be scoped to.
const (
	Connect        = "connect"
	Payouts        = "payouts"
	Reconciliation = "reconciliation"
)

var allComponents = []string{Connect, Payouts, Reconciliation}

const (
	// TokenTTL is how long an embed token can be exchanged (once) for a session.
	TokenTTL = 15 * time.Minute
	// SessionTTL is how long the page's cookie session lasts after the exchange.
	SessionTTL = time.Hour
	// MaxOrigins caps a partner's allowed frame-ancestor origins.
	MaxOrigins = 20
)

// Companies is what embed needs of the companies service.
type Companies interface {
	Get(ctx context.Context, partnerID, companyID string) (companies.Company, error)
	Connections(ctx context.Context, partnerID, companyID string) ([]companies.Connection, error)
}

// PayoutStore reads payout summaries and pages of their items (payouts.Store):
// no read grows with the size of a payout.
type PayoutStore interface {
	List(ctx context.Context, partnerID, companyID string, limit int32, cursor string) ([]payouts.Payout, string, error)
	Get(ctx context.Context, partnerID, companyID, id string) (payouts.Payout, error)
	ItemsPage(ctx context.Context, partnerID, companyID, payoutID string, limit int32, cursor string) ([]payouts.Item, string, error)
}

// Service issues embed sessions and serves the page's API.
type Service struct {
	Store     *store.Store
	Companies Companies
	Connect   *connect.Service
	Payouts   PayoutStore
	Recon     *reconsvc.Service
	Now       func() time.Time
	// Token returns n random bytes, URL-safe encoded (ids.Generator.Token).
	Token func(n int) (string, error)
	// PublicBaseURL is where the page is served; empty derives it from the request host.
	PublicBaseURL string
	Log           *slog.Logger
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// grant is what a token or a session allows: one company, some components.
type grant struct {
	store.Keys
	PartnerID  string    `dynamodbav:"partner_id"`
	CompanyID  string    `dynamodbav:"company_id"`
	Components []string  `dynamodbav:"components"`
	Locale     string    `dynamodbav:"locale"`
	ExpiresAt  time.Time `dynamodbav:"expires_at"`
	TTL        int64     `dynamodbav:"ttl"` // DynamoDB TTL; expiry is also checked on read
}

// Session is an exchanged embed session.
type Session struct {
	ID         string // the cookie value (never stored; its hash keys the item)
	PartnerID  string
	CompanyID  string
	Components []string
	Locale     string
	ExpiresAt  time.Time
}

// Allows reports whether the session covers one of the components (a
// reconciliation session reads payouts to pick them for a manual match).
func (s Session) Allows(cs ...string) bool {
	for _, c := range cs {
		if slices.Contains(s.Components, c) {
			return true
		}
	}
	return false
}

// Created is the answer to POST /v1/companies/{id}/embed-sessions.
type Created struct {
	Object     string    `json:"object"`
	Token      string    `json:"token"`
	URL        string    `json:"url"`
	CompanyID  string    `json:"company_id"`
	Components []string  `json:"components"`
	Locale     string    `json:"locale"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// CreateInput is the body of POST /v1/companies/{id}/embed-sessions.
type CreateInput struct {
	Components []string `json:"components"`
	Locale     string   `json:"locale"`
}

// Compiled on first use, not during the Lambda cold start.
var localeRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$`) })

// CreateSession issues a token for one of the partner's companies. Only the
// token's SHA-256 is stored; the token itself is returned once.
func (s *Service) CreateSession(ctx context.Context, pid, cid string, in CreateInput, baseURL string) (Created, error) {
	if _, err := s.Companies.Get(ctx, pid, cid); err != nil {
		return Created{}, err
	}
	comps := []string{}
	for _, c := range in.Components {
		if !slices.Contains(allComponents, c) {
			return Created{}, apperr.FieldErrors(map[string]string{"components": "each must be one of connect, payouts, reconciliation"})
		}
		if !slices.Contains(comps, c) {
			comps = append(comps, c)
		}
	}
	if len(comps) == 0 {
		return Created{}, apperr.FieldErrors(map[string]string{"components": "list at least one of connect, payouts, reconciliation"})
	}
	if in.Locale == "" {
		in.Locale = "en-US"
	}
	if !localeRe().MatchString(in.Locale) {
		return Created{}, apperr.FieldErrors(map[string]string{"locale": "must be a BCP 47 language tag such as en-US"})
	}
	tok, err := s.Token(32)
	if err != nil {
		return Created{}, fmt.Errorf("random: %w", err)
	}
	tok = "emb_" + tok
	exp := s.now().Add(TokenTTL).Truncate(time.Second)
	g := grant{PartnerID: pid, CompanyID: cid, Components: comps, Locale: in.Locale, ExpiresAt: exp, TTL: exp.Unix()}
	g.PK, g.SK = "EMBEDTOKEN#"+hash(tok), "EMBEDTOKEN"
	if err := s.Store.PutNew(ctx, g); err != nil {
		return Created{}, fmt.Errorf("store embed token: %w", err)
	}
	return Created{Object: "embed_session", Token: tok, URL: baseURL + PagePath + "?token=" + url.QueryEscape(tok),
		CompanyID: cid, Components: comps, Locale: in.Locale, ExpiresAt: exp}, nil
}

// errInvalid is every reason a token or session is refused: callers answer
// them all alike (no oracle telling expired from unknown from used).
var errInvalid = errors.New("embed: invalid or expired")

// Exchange consumes a token (single use: one of two concurrent exchanges wins)
// and opens a cookie session for the same company and components.
func (s *Service) Exchange(ctx context.Context, token string) (Session, error) {
	if !strings.HasPrefix(token, "emb_") || len(token) > 128 {
		return Session{}, errInvalid
	}
	var g grant
	if err := s.Store.DeleteExisting(ctx, "EMBEDTOKEN#"+hash(token), "EMBEDTOKEN", &g); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Session{}, errInvalid
		}
		return Session{}, err
	}
	now := s.now()
	if !now.Before(g.ExpiresAt) {
		return Session{}, errInvalid
	}
	sid, err := s.Token(32)
	if err != nil {
		return Session{}, fmt.Errorf("random: %w", err)
	}
	g.ExpiresAt = now.Add(SessionTTL).Truncate(time.Second)
	g.TTL = g.ExpiresAt.Unix()
	g.PK, g.SK = "EMBEDSESSION#"+hash(sid), "EMBEDSESSION"
	if err := s.Store.PutNew(ctx, g); err != nil {
		return Session{}, fmt.Errorf("store embed session: %w", err)
	}
	return Session{ID: sid, PartnerID: g.PartnerID, CompanyID: g.CompanyID, Components: g.Components, Locale: g.Locale, ExpiresAt: g.ExpiresAt}, nil
}

// Lookup returns the live session for a cookie value.
func (s *Service) Lookup(ctx context.Context, sid string) (Session, error) {
	if sid == "" || len(sid) > 128 {
		return Session{}, errInvalid
	}
	var g grant
	if err := s.Store.Get(ctx, "EMBEDSESSION#"+hash(sid), "EMBEDSESSION", &g); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Session{}, errInvalid
		}
		return Session{}, err
	}
	if !s.now().Before(g.ExpiresAt) {
		return Session{}, errInvalid
	}
	return Session{ID: sid, PartnerID: g.PartnerID, CompanyID: g.CompanyID, Components: g.Components, Locale: g.Locale, ExpiresAt: g.ExpiresAt}, nil
}

// Settings are a partner's embed settings.
type Settings struct {
	// AllowedOrigins may frame the page (CSP frame-ancestors); empty: no site may.
	AllowedOrigins []string `json:"allowed_origins"`
}

type settingsItem struct {
	store.Keys
	PartnerID      string   `dynamodbav:"partner_id"`
	AllowedOrigins []string `dynamodbav:"allowed_origins"`
}

const settingsSK = "EMBEDSETTINGS"

// GetSettings returns the partner's settings (empty when never set).
func (s *Service) GetSettings(ctx context.Context, pid string) (Settings, error) {
	var it settingsItem
	if err := s.Store.Get(ctx, store.PartnerPK(pid), settingsSK, &it); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Settings{}, err
	}
	if it.AllowedOrigins == nil {
		it.AllowedOrigins = []string{}
	}
	return Settings{AllowedOrigins: it.AllowedOrigins}, nil
}

// PutSettings validates and stores the partner's settings. Origins are exact
// scheme://host[:port] values (https; http only for loopback), nothing else, so
// they can be written into the CSP header as they are.
func (s *Service) PutSettings(ctx context.Context, pid string, in Settings) (Settings, error) {
	if len(in.AllowedOrigins) > MaxOrigins {
		return Settings{}, apperr.FieldErrors(map[string]string{"allowed_origins": fmt.Sprintf("at most %d origins", MaxOrigins)})
	}
	out := []string{}
	for _, o := range in.AllowedOrigins {
		n, ok := normalOrigin(o)
		if !ok {
			return Settings{}, apperr.FieldErrors(map[string]string{"allowed_origins": "each must be an origin like https://app.example.com (no path, https except for localhost)"})
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	it := settingsItem{PartnerID: pid, AllowedOrigins: out}
	it.PK, it.SK = store.PartnerPK(pid), settingsSK
	if err := s.Store.Put(ctx, it); err != nil {
		return Settings{}, err
	}
	return Settings{AllowedOrigins: out}, nil
}

// Compiled on first use, not during the Lambda cold start.
var hostRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$`)
})

func normalOrigin(raw string) (string, bool) {
	if len(raw) > 300 {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if !hostRe().MatchString(host) {
		return "", false
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", false
		}
	default:
		return "", false
	}
	return u.Scheme + "://" + host, true
}

func isLoopback(host string) bool {
	host = strings.ToLower(host)
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasSuffix(host, ".localhost")
}
