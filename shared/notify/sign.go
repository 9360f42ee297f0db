package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com, spec/standard-webhooks.md):
// the signed content is "{webhook-id}.{webhook-timestamp}.{body}", signed with
// HMAC-SHA256 keyed by the base64-decoded part of "whsec_<base64>", sent as
// "v1,<base64 signature>", several space-separated during a secret rotation.
const (
	SecretPrefix = "whsec_"
	// SecretBytes: the spec allows 24 to 64 random bytes; Svix uses 24, we use 32.
	SecretBytes = 32

	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// NewSecret returns "whsec_" + base64 of SecretBytes bytes from rand.
func NewSecret(rand io.Reader) (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", fmt.Errorf("notify: secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// secretKey decodes "whsec_<base64>" to the HMAC key.
func secretKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || len(k) < 24 || len(k) > 64 {
		return nil, errors.New("notify: malformed signing secret")
	}
	return k, nil
}

// Sign returns the webhook-signature header value: one "v1,<sig>" per secret,
// space-separated.
func Sign(secrets []string, msgID string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("notify: no signing secret")
	}
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		k, err := secretKey(s)
		if err != nil {
			return "", err
		}
		m := hmac.New(sha256.New, k)
		m.Write([]byte(msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
		m.Write(body)
		parts = append(parts, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(parts, " "), nil
}
