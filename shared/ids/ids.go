// Package ids makes prefixed, time-sortable identifiers ("co_01J…") and secure
// random tokens. IDs sort by creation time, so DynamoDB sort keys built from
// them list newest-first with a reverse query.
package ids

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Generator is passed in (never ambient) so tests can fix time and randomness.
type Generator struct {
	Now     func() time.Time
	Entropy io.Reader
	mu      sync.Mutex
}

// New returns a generator on the real clock and crypto/rand.
func New() *Generator {
	return &Generator{Now: time.Now, Entropy: rand.Reader}
}

// ID returns prefix + "_" + a lower-case ULID, e.g. "co_01jd3…".
func (g *Generator) ID(prefix string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := ulid.MustNew(ulid.Timestamp(g.Now()), g.Entropy) //nolint:staticcheck // entropy reader never fails for crypto/rand
	return prefix + "_" + strings.ToLower(u.String())
}

// Token returns n random bytes, URL-safe base64 without padding (n=32 -> 256 bits).
func (g *Generator) Token(n int) (string, error) {
	b := make([]byte, n)
	g.mu.Lock()
	_, err := io.ReadFull(g.Entropy, b)
	g.mu.Unlock()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
