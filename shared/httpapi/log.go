package httpapi

import (
	"context"
	"log/slog"
	"regexp"
	"sync"
)

// secretPattern matches things that must never reach a log line: provider keys,
// webhook secrets, our API keys, OAuth codes/tokens and card-like digit runs.
// It is compiled on first use rather than at init (init time is every cold start's cost).
var secretPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(sk|rk|pk)_(test|live)_[A-Za-z0-9]+|whsec_[A-Za-z0-9+/=]+|pr_(test|live)_[A-Za-z0-9_-]+|ac_[A-Za-z0-9]{8,}|\b\d{13,19}\b`)
})

// Redact replaces secret-looking substrings.
func Redact(s string) string { return secretPattern().ReplaceAllString(s, "[REDACTED]") }

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
