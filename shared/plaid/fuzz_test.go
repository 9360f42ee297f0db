package plaid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network")
}

// FuzzVerifyWebhook feeds arbitrary Plaid-Verification headers and bodies to
// the verifier: it never panics, and it accepts only a token signed by the
// cached key, recent, whose request_body_sha256 is the body's.
func FuzzVerifyWebhook(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	s := &Service{Keys: &KeyCache{}, Now: func() time.Time { return now }, HTTP: &http.Client{Transport: noNetwork{}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.Keys.put("sandbox/k1", cachedKey{pub: &key.PublicKey, at: now})
	sign := func(body []byte, kid string, iat time.Time) string {
		sum := sha256.Sum256(body)
		t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iat": iat.Unix(), "request_body_sha256": hex.EncodeToString(sum[:])})
		t.Header["kid"] = kid
		out, _ := t.SignedString(key)
		return out
	}
	body := []byte(`{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE","item_id":"item-1"}`)
	f.Add(sign(body, "k1", now), body)
	f.Add(sign(body, "k1", now.Add(-10*time.Minute)), body)
	f.Add(sign(body, "k2", now), body)
	f.Add(sign([]byte("{}"), "k1", now), body)
	f.Add("eyJhbGciOiJub25lIn0.e30.", body)
	f.Add("", []byte{})
	c := Credentials{Environment: Sandbox, ClientID: "c", Secret: "s"}
	f.Fuzz(func(t *testing.T, token string, body []byte) {
		if s.verify(context.Background(), c, body, token) != nil {
			return
		}
		var claims webhookClaims
		tok, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, jwt.WithValidMethods([]string{"ES256"}))
		if err != nil || !tok.Valid {
			t.Fatalf("accepted a token our key did not sign: %v", err)
		}
		sum := sha256.Sum256(body)
		if claims.RequestBodySHA256 != hex.EncodeToString(sum[:]) || claims.IssuedAt == nil || now.Sub(claims.IssuedAt.Time) > maxAge {
			t.Fatalf("accepted a token for another body or a stale one")
		}
	})
}
