package connect

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/payrecon/payrecon/shared/store"
)

// stateBytes is the OAuth state's entropy: 256 bits (the issue asks for >= 128).
const stateBytes = 32

// oauthState is the server-side record of one Start Stripe Flow. It is keyed by
// the SHA-256 of the state, so the table never holds a usable state value.
type oauthState struct {
	store.Keys
	PartnerID   string    `dynamodbav:"partner_id"`
	CompanyID   string    `dynamodbav:"company_id"`
	ReturnURL   string    `dynamodbav:"return_url"`
	ClientID    string    `dynamodbav:"client_id"`
	RedirectURI string    `dynamodbav:"redirect_uri"`
	CreatedAt   time.Time `dynamodbav:"created_at"`
	ExpiresAt   time.Time `dynamodbav:"expires_at"`
	// BindingHash is the SHA-256 of the token in the browser cookie set by the
	// start link (empty until a browser opens it).
	BindingHash string `dynamodbav:"binding_hash,omitempty"`
	// Kind is "onboarding" for an Account Link's state (AccountID its account);
	// empty for Start Stripe Flow. Neither flow accepts the other's state.
	Kind      string `dynamodbav:"kind,omitempty"`
	AccountID string `dynamodbav:"account_id,omitempty"`
}

const stateSK = "STATE"

func statePK(state string) string {
	h := sha256.Sum256([]byte(state))
	return "OAUTHSTATE#" + hex.EncodeToString(h[:])
}

// newState returns a fresh random state (URL-safe, no padding).
func (s *Service) newState() (string, error) {
	b := make([]byte, stateBytes)
	if _, err := io.ReadFull(s.random(), b); err != nil {
		return "", fmt.Errorf("oauth state randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedState rejects anything that could not be one of our states before
// touching the table (length of 32 bytes in unpadded base64url is 43).
func wellFormedState(st string) bool {
	if len(st) != base64.RawURLEncoding.EncodedLen(stateBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(st)
	return err == nil
}

func (s *Service) saveState(ctx context.Context, st string, rec oauthState) error {
	rec.PK, rec.SK = statePK(st), stateSK
	// DynamoDB TTL removes it eventually (up to ~48 h late); consumeState also checks ExpiresAt.
	rec.TTL = rec.ExpiresAt.Unix()
	if err := s.Store.PutNew(ctx, rec); err != nil {
		return fmt.Errorf("store oauth state: %w", err)
	}
	return nil
}

// Reasons a callback's state is refused (all answered with the same 400 page).
var (
	errStateMissing = errors.New("oauth state missing or malformed")
	errStateUnknown = errors.New("oauth state unknown or already used")
	errStateExpired = errors.New("oauth state expired")
)

// consumeState deletes the state and returns what it held. The delete is
// conditional, so of two concurrent callbacks with one state exactly one wins.
// An expired state is consumed too (it can never become valid again).
func (s *Service) consumeState(ctx context.Context, st string) (oauthState, error) {
	if !wellFormedState(st) {
		return oauthState{}, errStateMissing
	}
	var rec oauthState
	if err := s.Store.DeleteExisting(ctx, statePK(st), stateSK, &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return oauthState{}, errStateUnknown
		}
		return oauthState{}, fmt.Errorf("consume oauth state: %w", err)
	}
	if !s.now().Before(rec.ExpiresAt) {
		return oauthState{}, errStateExpired
	}
	return rec, nil
}
