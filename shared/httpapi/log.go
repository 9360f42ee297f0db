package httpapi

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
)

// secretPattern matches things that must never reach a log line, by their
// documented prefixes: Stripe secret and restricted keys (sk_, rk_; any mode,
// any length), webhook signing secrets (whsec_), our API keys (pr_), OAuth
// codes (ac_) and card-like digit runs. Qualpay keys and secrets have no
// documented shape: they are caught by their exact values (RememberSecrets).
// It is compiled on first use rather than at init (init time is every cold start's cost).
var secretPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\b(sk|rk|pk)_[A-Za-z0-9_]{6,}|whsec_[A-Za-z0-9+/=_-]+|\bpr_[A-Za-z0-9_-]{6,}|\bac_[A-Za-z0-9]{8,}|\b\d{13,19}\b`)
})

// Redact replaces secret-looking substrings and every remembered secret value.
func Redact(s string) string {
	return known.replace(secretPattern().ReplaceAllString(s, redacted))
}

const redacted = "[REDACTED]"

// minRemembered is the shortest value redacted by exact match: shorter ones
// would blank ordinary words (no provider issues secrets that short).
const minRemembered = 6

// maxRemembered bounds the registry of a long-lived process; the oldest values
// go first (a warm Lambda serves few partners; their credentials are re-added
// on every load from the secrets cache).
const maxRemembered = 4096

// secretSet is the process's registry of credential values in use.
type secretSet struct {
	mu    sync.RWMutex
	order []string
	set   map[string]struct{}
}

var known = &secretSet{set: map[string]struct{}{}}

// RememberSecrets registers credential values (as they are loaded for use) so
// the log redactor removes them wherever they appear, whatever their shape.
func RememberSecrets(values ...string) {
	known.mu.Lock()
	defer known.mu.Unlock()
	for _, v := range values {
		if len(v) < minRemembered {
			continue
		}
		if _, ok := known.set[v]; ok {
			continue
		}
		if len(known.order) >= maxRemembered {
			delete(known.set, known.order[0])
			known.order = known.order[1:]
		}
		known.set[v] = struct{}{}
		known.order = append(known.order, v)
	}
}

func (k *secretSet) replace(s string) string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(s) < minRemembered {
		return s
	}
	for _, v := range k.order {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}

// RedactingHandler is a slog.Handler that redacts string attribute values and
// messages, a last line of defence behind "never log secrets" in the code.
type RedactingHandler struct{ slog.Handler }

// NewRedactingHandler wraps next.
func NewRedactingHandler(next slog.Handler) *RedactingHandler { return &RedactingHandler{next} }

func (h *RedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(redactAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, nr)
}

func (h *RedactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = redactAttr(a)
	}
	return &RedactingHandler{h.Handler.WithAttrs(out)}
}

func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{h.Handler.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = redactAttr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Redact(err.Error()))
		}
		return slog.String(a.Key, Redact(v.String()))
	}
	return a
}
