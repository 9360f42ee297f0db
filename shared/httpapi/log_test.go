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
