// Package partners manages partners and their API keys. A key is shown once at
// creation and stored only as its SHA-256, so a table leak does not leak keys.
package partners

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/store"
)

// Partner is a platform operating payrecon's API for its users.
type Partner struct {
	store.Keys
	ID        string    `dynamodbav:"partner_id" json:"id"`
	Name      string    `dynamodbav:"name" json:"name"`
	Livemode  bool      `dynamodbav:"livemode" json:"livemode"`
	CreatedAt time.Time `dynamodbav:"created_at" json:"created_at"`
	// AllowedReturnHosts restricts OAuth return_url hosts when non-empty.
	AllowedReturnHosts []string `dynamodbav:"allowed_return_hosts,omitempty" json:"allowed_return_hosts,omitempty"`
}

// APIKey is the stored form of a key: its hash, never the key.
type APIKey struct {
	store.Keys
	ID        string     `dynamodbav:"key_id" json:"id"`
	PartnerID string     `dynamodbav:"partner_id" json:"partner_id"`
	Hash      string     `dynamodbav:"hash" json:"-"`
	Prefix    string     `dynamodbav:"prefix" json:"prefix"` // first characters, to tell keys apart
	CreatedAt time.Time  `dynamodbav:"created_at" json:"created_at"`
	RevokedAt *time.Time `dynamodbav:"revoked_at,omitempty" json:"revoked_at,omitempty"`
}

// Service creates partners and verifies keys.
type Service struct {
	Store *store.Store
	IDs   *ids.Generator
	Now   func() time.Time
}

func keyPK(hash string) string { return "APIKEY#" + hash }

const (
	partnerSK = "PARTNER"
	keySK     = "APIKEY"
)

// Hash is the stored form of an API key.
func Hash(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// Create makes a partner and its first key; the key is returned once.
func (s *Service) Create(ctx context.Context, name string, livemode bool) (Partner, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return Partner{}, "", apperr.FieldErrors(map[string]string{"name": "is required (1-200 characters)"})
	}
	p := Partner{ID: s.IDs.ID("ptr"), Name: name, Livemode: livemode, CreatedAt: s.Now().UTC()}
	p.PK, p.SK = store.PartnerPK(p.ID), partnerSK
	if err := s.Store.PutNew(ctx, p); err != nil {
		return Partner{}, "", fmt.Errorf("create partner: %w", err)
	}
	key, _, err := s.CreateKey(ctx, p.ID)
	if err != nil {
		return Partner{}, "", err
	}
	return p, key, nil
}

// Get returns a partner.
func (s *Service) Get(ctx context.Context, partnerID string) (Partner, error) {
	var p Partner
	if err := s.Store.Get(ctx, store.PartnerPK(partnerID), partnerSK, &p); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Partner{}, apperr.New(apperr.NotFound, "partner not found")
		}
		return Partner{}, err
	}
	return p, nil
}

// SetAllowedReturnHosts restricts the hosts OAuth may return users to.
func (s *Service) SetAllowedReturnHosts(ctx context.Context, partnerID string, hosts []string) error {
	p, err := s.Get(ctx, partnerID)
	if err != nil {
		return err
	}
	p.AllowedReturnHosts = hosts
	return s.Store.Put(ctx, p)
}

// CreateKey adds a key to a partner (rotation: create a new key, move clients, revoke the old).
func (s *Service) CreateKey(ctx context.Context, partnerID string) (string, APIKey, error) {
	p, err := s.Get(ctx, partnerID)
	if err != nil {
		return "", APIKey{}, err
	}
	tok, err := s.IDs.Token(32)
	if err != nil {
		return "", APIKey{}, fmt.Errorf("random: %w", err)
	}
	mode := "test"
	if p.Livemode {
		mode = "live"
	}
	key := "pr_" + mode + "_" + tok
	k := APIKey{ID: s.IDs.ID("key"), PartnerID: partnerID, Hash: Hash(key), Prefix: key[:12], CreatedAt: s.Now().UTC()}
	k.PK, k.SK = keyPK(k.Hash), keySK
	k.GSI1PK, k.GSI1SK = store.PartnerPK(partnerID)+"#APIKEYS", k.ID
	if err := s.Store.PutNew(ctx, k); err != nil {
		return "", APIKey{}, fmt.Errorf("store key: %w", err)
	}
	return key, k, nil
}

// Keys lists a partner's keys (hashes are never returned).
func (s *Service) Keys(ctx context.Context, partnerID string) ([]APIKey, error) {
	var out []APIKey
	_, err := s.Store.QueryPage(ctx, store.Query{PK: store.PartnerPK(partnerID) + "#APIKEYS", Index: store.GSI1, Limit: 100}, &out)
	return out, err
}

// RevokeKey revokes one of the partner's keys by ID.
func (s *Service) RevokeKey(ctx context.Context, partnerID, keyID string) error {
	keys, err := s.Keys(ctx, partnerID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == keyID {
			now := s.Now().UTC()
			return s.Store.PutIf(ctx, APIKey{Keys: k.Keys, ID: k.ID, PartnerID: k.PartnerID, Hash: k.Hash, Prefix: k.Prefix, CreatedAt: k.CreatedAt, RevokedAt: &now},
				"partner_id = :p", map[string]any{":p": partnerID})
		}
	}
	return apperr.New(apperr.NotFound, "key not found")
}

var errBadKey = apperr.New(apperr.Unauthorized, "invalid or revoked API key")

// Authenticate implements httpapi.Authenticator: malformed, unknown or revoked keys are 401.
func (s *Service) Authenticate(ctx context.Context, key string) (string, error) {
	if !wellFormed(key) {
		return "", errBadKey
	}
	h := Hash(key)
	var k APIKey
	if err := s.Store.Get(ctx, keyPK(h), keySK, &k); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", errBadKey
		}
		return "", fmt.Errorf("lookup key: %w", err)
	}
	// The lookup is by hash already; the constant-time compare guards against a
	// store that returned a different item (defence in depth, no timing signal).
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(h)) != 1 || k.RevokedAt != nil {
		return "", errBadKey
	}
	return k.PartnerID, nil
}

func wellFormed(key string) bool {
	if len(key) < 20 || len(key) > 100 {
		return false
	}
	if !strings.HasPrefix(key, "pr_test_") && !strings.HasPrefix(key, "pr_live_") {
		return false
	}
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
