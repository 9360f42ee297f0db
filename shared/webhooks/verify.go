package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
)

// errUnauthenticated is the one answer to every webhook that cannot be
// authenticated: unknown partner, unknown account, no secret configured,
// missing, malformed, stale, future or wrong signature, wrong Basic
// credentials. The reason goes to the logs only, so the response is no oracle
// for which partners, accounts or secrets exist.
var errUnauthenticated = apperr.New(apperr.Invalid, "webhook signature verification failed")

// Reasons a Stripe signature is refused (logged, never answered).
var (
	ErrNoSecret       = errors.New("no webhook secret is configured for this endpoint")
	ErrMalformedSig   = errors.New("signature header has no t= or no v1= signature")
	ErrStaleSig       = errors.New("signature timestamp is older than the tolerance")
	ErrFutureSig      = errors.New("signature timestamp is further in the future than the tolerance")
	ErrSignatureWrong = errors.New("no signature matches any of the endpoint's secrets")
)

// maxSignatures bounds the v1 values checked per delivery (Stripe sends one per
// active secret: two during a roll).
const maxSignatures = 8

// VerifyStripeSignature checks a Stripe-Signature header against the raw
// payload, before anything is parsed: "t=<unix>,v1=<hex>[,v1=<hex>…]", each v1
// being HMAC-SHA256 of "<t>.<payload>" with an endpoint's signing secret
// (https://docs.stripe.com/webhooks/signature). During a secret roll Stripe
// signs with the old and the new secret (the old one stays valid for up to
// 24 h), so a delivery passes when any v1 matches any of secrets. The
// timestamp must lie within tolerance of now on both sides: stripe-go checks
// only its age, and a timestamp from the future would stretch the replay window.
// Comparisons are constant time.
func VerifyStripeSignature(payload []byte, header string, secrets []string, now time.Time, tolerance time.Duration) error {
	if len(secrets) == 0 {
		return ErrNoSecret
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		ts     int64
		haveTS bool
		sigs   [maxSignatures][sha256.Size]byte
		n      int
	)
	for item := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			t, err := strconv.ParseInt(v, 10, 64)
			if err != nil || haveTS {
				return ErrMalformedSig
			}
			ts, haveTS = t, true
		case "v1":
			if n < maxSignatures && hex.DecodedLen(len(v)) == sha256.Size {
				if _, err := hex.Decode(sigs[n][:], []byte(v)); err == nil {
					n++
				}
			}
		}
	}
	if !haveTS || n == 0 {
		return ErrMalformedSig
	}
	at := time.Unix(ts, 0)
	if now.Sub(at) > tolerance {
		return ErrStaleSig
	}
	if at.Sub(now) > tolerance {
		return ErrFutureSig
	}
	prefix := strconv.AppendInt(make([]byte, 0, 24), ts, 10)
	prefix = append(prefix, '.')
	var sum [sha256.Size]byte
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(prefix)
		mac.Write(payload)
		mac.Sum(sum[:0])
		for i := range n {
			if hmac.Equal(sum[:], sigs[i][:]) {
				return nil
			}
		}
	}
	return ErrSignatureWrong
}

// VerifyStripe checks the signature (VerifyStripeSignature) and only then
// decodes the event, once, into the fields this service reads.
func VerifyStripe(payload []byte, header string, secrets []string, now time.Time, tolerance time.Duration) (Event, error) {
	if err := VerifyStripeSignature(payload, header, secrets, now, tolerance); err != nil {
		return Event{}, errUnauthenticated
	}
	return DecodeStripe(payload)
}

// QualpaySignatureHeader carries Base64(HMAC-SHA256(raw body, webhook secret)).
const QualpaySignatureHeader = "x-qualpay-webhook-signature"

// SignQualpay computes the signature Qualpay sends for body.
func SignQualpay(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyQualpay checks x-qualpay-webhook-signature against the raw body in
// constant time, before any parsing. Qualpay can rotate a webhook secret with a
// period in which the old one stays valid ("Webhooks in Qualpay Manager",
// https://developer.qualpay.com/docs/webhooks-in-qualpay-manager) but does not
// document the header during that overlap; integrations split it on commas and
// check each value, and the Lambda proxy splits headers on commas too. So the
// header may hold several comma-separated signatures: the delivery passes when
// any of them matches any of secrets.
func VerifyQualpay(body []byte, header string, secrets ...string) bool {
	var sigs [maxSignatures][sha256.Size]byte
	n := 0
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimSpace(v)
		if n == maxSignatures || base64.StdEncoding.DecodedLen(len(v)) < sha256.Size || len(v) > 64 {
			continue
		}
		var buf [48]byte
		if k, err := base64.StdEncoding.Decode(buf[:], []byte(v)); err == nil && k == sha256.Size {
			copy(sigs[n][:], buf[:k])
			n++
		}
	}
	ok := false
	var sum [sha256.Size]byte
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		mac.Sum(sum[:0])
		for i := range n {
			if hmac.Equal(sum[:], sigs[i][:]) {
				ok = true // keep going: the time taken does not depend on which matched
			}
		}
	}
	return ok
}

// refuse logs why a delivery was not authenticated and returns the uniform error.
func (s *Service) refuse(ctx context.Context, provider, reason string, attrs ...any) error {
	s.Log.WarnContext(ctx, "webhook refused", append([]any{"provider", provider, "reason", reason}, attrs...)...)
	return errUnauthenticated
}
