package plaid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	plaidgo "github.com/plaid/plaid-go/v20/plaid"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/plaiditems"
)

const (
	// VerificationHeader carries the JWT Plaid signs every webhook with.
	VerificationHeader = "Plaid-Verification"
	// MaxWebhookBody caps a webhook body (Plaid's are well under 10 KB).
	MaxWebhookBody = 64 << 10
	// MaxJWT caps the header before any parsing.
	MaxJWT = 4 << 10
	// maxAge is how old a webhook's iat may be: Plaid recommends rejecting
	// webhooks issued more than 5 minutes ago (replay window).
	maxAge = 5 * time.Minute
)

// errUnverified is the one answer to every webhook that fails verification,
// whatever the cause (no oracle for which check failed).
var errUnverified = apperr.New(apperr.Unauthorized, "webhook verification failed")

// KeyCache holds Plaid's webhook verification keys by environment and kid,
// as Plaid's example does, so a warm function fetches each key once. Unknown
// kids are remembered briefly, so forged headers cannot make us call Plaid
// for every request.
type KeyCache struct {
	mu   sync.Mutex
	keys map[string]cachedKey
}

type cachedKey struct {
	pub     *ecdsa.PublicKey // nil: Plaid did not give a usable key
	expired bool
	at      time.Time
}

const (
	keyTTL      = 24 * time.Hour
	negativeTTL = time.Minute
	maxKeys     = 256
)

func (k *KeyCache) get(id string, now time.Time) (cachedKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.keys[id]
	if !ok {
		return c, false
	}
	ttl := keyTTL
	if c.pub == nil {
		ttl = negativeTTL
	}
	return c, now.Sub(c.at) < ttl
}

// live lists the kids under prefix that hold a usable, unexpired key.
func (k *KeyCache) live(prefix string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for id, c := range k.keys {
		if kid, ok := strings.CutPrefix(id, prefix); ok && c.pub != nil && !c.expired {
			out = append(out, kid)
		}
	}
	return out
}

func (k *KeyCache) put(id string, c cachedKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil || len(k.keys) >= maxKeys {
		k.keys = map[string]cachedKey{} // bounded: start over rather than grow
	}
	k.keys[id] = c
}

// jwkToKey turns Plaid's JWK (EC P-256, base64url x and y) into a public key.
func jwkToKey(j plaidgo.JWKPublicKey) (*ecdsa.PublicKey, error) {
	if j.GetKty() != "EC" || j.GetCrv() != "P-256" || j.GetAlg() != "ES256" {
		return nil, fmt.Errorf("unexpected key kty=%q crv=%q alg=%q", j.GetKty(), j.GetCrv(), j.GetAlg())
	}
	x, err1 := base64.RawURLEncoding.DecodeString(j.GetX())
	y, err2 := base64.RawURLEncoding.DecodeString(j.GetY())
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("bad key coordinates")
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
}

// key returns the verification key for kid, fetching it with
// /webhook_verification_key/get when not cached. A key whose expired_at is
// set is refused, as in Plaid's verification example.
func (s *Service) key(ctx context.Context, c Credentials, kid string) (*ecdsa.PublicKey, error) {
	if kid == "" || len(kid) > 100 {
		return nil, errors.New("no kid")
	}
	id := c.Environment + "/" + kid
	now := s.Now()
	ck, ok := s.Keys.get(id, now)
	if !ok {
		var err error
		if ck, err = s.fetchKey(ctx, c, kid, now); err != nil {
			return nil, err
		}
		// As in Plaid's example: a new kid means keys may have rotated, so
		// refresh the cached keys not yet known to be expired.
		for _, old := range s.Keys.live(c.Environment + "/") {
			if old != kid {
				_, _ = s.fetchKey(ctx, c, old, now)
			}
		}
	}
	if ck.pub == nil || ck.expired {
		return nil, errors.New("no usable key")
	}
	return ck.pub, nil
}

// fetchKey reads one key with /webhook_verification_key/get and caches it
// (a kid Plaid does not know is cached as unusable for a minute).
func (s *Service) fetchKey(ctx context.Context, c Credentials, kid string, now time.Time) (cachedKey, error) {
	res, _, err := s.client(c).WebhookVerificationKeyGet(ctx).WebhookVerificationKeyGetRequest(*plaidgo.NewWebhookVerificationKeyGetRequest(kid)).Execute()
	ck := cachedKey{at: now}
	if err != nil {
		if _, isPlaid := plaidErr(err); !isPlaid {
			return ck, err // network trouble: do not remember the kid as unknown
		}
	} else {
		k := res.GetKey()
		ck.expired = k.ExpiredAt.Get() != nil // expired_at set: rotated out
		if pub, err := jwkToKey(k); err == nil {
			ck.pub = pub
		}
	}
	s.Keys.put(c.Environment+"/"+kid, ck)
	return ck, nil
}

type webhookClaims struct {
	RequestBodySHA256 string `json:"request_body_sha256"`
	jwt.RegisteredClaims
}

// verify checks the Plaid-Verification JWT against the raw body, following
// https://plaid.com/docs/api/webhooks/webhook-verification/: alg ES256 only,
// kid → key from /webhook_verification_key/get, signature, iat no older than
// five minutes, and the SHA-256 of the raw body equal to request_body_sha256
// (compared in constant time).
func (s *Service) verify(ctx context.Context, c Credentials, body []byte, token string) error {
	if token == "" || len(token) > MaxJWT {
		return errors.New("missing or oversized JWT")
	}
	var claims webhookClaims
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}), jwt.WithIssuedAt(), jwt.WithTimeFunc(s.Now),
		jwt.WithLeeway(30*time.Second)) // clock skew between Plaid and us
	_, err := p.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return s.key(ctx, c, kid)
	})
	if err != nil {
		return err
	}
	if claims.IssuedAt == nil || s.Now().Sub(claims.IssuedAt.Time) > maxAge {
		return errors.New("stale or missing iat")
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(claims.RequestBodySHA256)) != 1 {
		return errors.New("body hash mismatch")
	}
	return nil
}

// Webhook is the part of a Plaid webhook payrecon acts on.
type Webhook struct {
	WebhookType string `json:"webhook_type"`
	WebhookCode string `json:"webhook_code"`
	ItemID      string `json:"item_id"`
	Error       *struct {
		ErrorType string `json:"error_type"`
		ErrorCode string `json:"error_code"`
	} `json:"error"`
	Environment string `json:"environment"`
}

// WebhookResult is the answer to Plaid (2xx for everything verified).
type WebhookResult struct {
	Received bool   `json:"received"`
	Action   string `json:"action"`
}

// HandleWebhook verifies a delivery before anything else, then acts:
// SYNC_UPDATES_AVAILABLE queues a sync of the Item; ITEM ERROR,
// PENDING_EXPIRATION and USER_PERMISSION_REVOKED mark the Item and raise an
// exception; LOGIN_REPAIRED clears it. Verified deliveries that can never
// apply (unknown Item, other types) are answered 200 so Plaid stops retrying.
func (s *Service) HandleWebhook(ctx context.Context, pid string, body []byte, token string) (WebhookResult, error) {
	if pid == "" || len(pid) > 64 {
		return WebhookResult{}, errUnverified
	}
	c, err := s.credentials(ctx, pid)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return WebhookResult{}, errUnverified
		}
		return WebhookResult{}, err
	}
	if err := s.verify(ctx, c, body, token); err != nil {
		s.Log.WarnContext(ctx, "plaid webhook rejected", "partner_id", pid, "reason", err.Error())
		return WebhookResult{}, errUnverified
	}
	var wh Webhook
	if err := json.Unmarshal(body, &wh); err != nil {
		s.Log.WarnContext(ctx, "plaid webhook: body is not JSON", "partner_id", pid)
		return WebhookResult{Received: true, Action: "ignored"}, nil
	}
	res := WebhookResult{Received: true, Action: "ignored"}
	if wh.ItemID == "" {
		return res, nil
	}
	it, err := s.Items.ByItemID(ctx, pid, wh.ItemID)
	if apperr.Is(err, apperr.NotFound) {
		s.Log.InfoContext(ctx, "plaid webhook for an unknown item", "partner_id", pid, "type", wh.WebhookType, "code", wh.WebhookCode)
		res.Action = "unknown_item"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	s.Log.InfoContext(ctx, "plaid webhook", "partner_id", pid, "company_id", it.CompanyID, "item_id", it.ItemID, "type", wh.WebhookType, "code", wh.WebhookCode)
	switch {
	case wh.WebhookType == "TRANSACTIONS" && wh.WebhookCode == "SYNC_UPDATES_AVAILABLE":
		if err := s.Queue.Enqueue(ctx, plaiditems.SyncJob(it)); err != nil {
			return res, err // 5xx: Plaid retries the webhook
		}
		res.Action = "sync_queued"
	case wh.WebhookType == "ITEM" && wh.WebhookCode == "ERROR":
		code := "ITEM_ERROR"
		if wh.Error != nil && wh.Error.ErrorCode != "" && len(wh.Error.ErrorCode) <= 64 {
			code = wh.Error.ErrorCode
		}
		res.Action = "item_marked"
		return res, s.markItem(ctx, it, code)
	case wh.WebhookType == "ITEM" && (wh.WebhookCode == "PENDING_EXPIRATION" || wh.WebhookCode == "USER_PERMISSION_REVOKED"):
		res.Action = "item_marked"
		return res, s.markItem(ctx, it, wh.WebhookCode)
	case wh.WebhookType == "ITEM" && wh.WebhookCode == "LOGIN_REPAIRED":
		if err := s.repaired(ctx, it); err != nil {
			return res, err
		}
		res.Action = "item_repaired"
		if err := s.Queue.Enqueue(ctx, plaiditems.SyncJob(it)); err != nil {
			return res, err
		}
	}
	return res, nil
}
