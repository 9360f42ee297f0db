package httpapi

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactingHandler(t *testing.T) {
	secrets := []string{"sk_test_51AbCdEf123", "sk_live_xyz987654321", "whsec_abc123def456", "pr_live_abcDEF123_-x", "4242424242424242", "rk_test_abcdefgh"}
	var buf bytes.Buffer
	log := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil)))
	for _, s := range secrets {
		t.Run(s[:6], func(t *testing.T) {
			buf.Reset()
			log.With("k", "pre "+s).Info("msg "+s, "attr", s, "err", errors.New("failed with "+s), slog.Group("g", "inner", s))
			if strings.Contains(buf.String(), s) {
				t.Fatalf("leaked: %s", buf.String())
			}
			if strings.Count(buf.String(), "[REDACTED]") < 5 {
				t.Fatalf("not every place redacted: %s", buf.String())
			}
		})
	}
}

// TestRedactEveryStoredCredentialKind logs each kind of credential the service
// stores: shaped ones are caught by their documented prefix even when never
// remembered; shapeless ones (Qualpay) by their exact remembered value.
func TestRedactEveryStoredCredentialKind(t *testing.T) {
	RememberSecrets("3888ab7bba98452987cdf69ae917561a", "qp-Webhook.Secret~9", "basicPa55word!")
	kinds := []struct{ name, value string }{
		{"stripe secret key", "sk_live_51Hx9LongerThanUsualKeyValue0123456789abcdef"},
		{"stripe test key of an unusual length", "sk_test_4eC39Hq"},
		{"stripe restricted key", "rk_live_51AbcDEF_ghIJ0123"},
		{"stripe webhook secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{"payrecon api key", "pr_live_Zm9vYmFy_-baz123"},
		{"qualpay security key (exact value)", "3888ab7bba98452987cdf69ae917561a"},
		{"qualpay webhook secret (exact value)", "qp-Webhook.Secret~9"},
		{"qualpay basic auth password (exact value)", "basicPa55word!"},
	}
	var buf bytes.Buffer
	log := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil)))
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			buf.Reset()
			log.Info("using "+k.value, "value", k.value, "err", errors.New("call failed: key="+k.value+"; retry"))
			if strings.Contains(buf.String(), k.value) {
				t.Fatalf("leaked: %s", buf.String())
			}
			if n := strings.Count(buf.String(), "[REDACTED]"); n != 3 {
				t.Fatalf("%d redactions, want 3: %s", n, buf.String())
			}
		})
	}
	t.Run("ordinary text is left alone", func(t *testing.T) {
		buf.Reset()
		log.Info("payout po_123 for acct_1Abc arrived", "partner_id", "ptr_01abc", "task", "risk_assessment")
		if strings.Contains(buf.String(), "[REDACTED]") {
			t.Fatalf("over-redacted: %s", buf.String())
		}
	})
}
