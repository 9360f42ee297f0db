// Package secrets keeps partner credentials behind a small interface (AWS
// Secrets Manager in smstore), with an in-process TTL cache so a warm Lambda
// does not pay a Secrets Manager round trip on every webhook.
package secrets

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotFound is returned when no secret has the name.
var ErrNotFound = errors.New("secrets: not found")

// Store reads and writes secret strings by name.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, value []byte) error
	Delete(ctx context.Context, name string) error
}

// Unset is the Store of an Env whose function keeps no partner credentials:
// every call fails (shared/app.Env.UseSecrets replaces it where they are kept).
type Unset struct{}

var errUnset = errors.New("secrets: no secret store in this function")

func (Unset) Get(context.Context, string) ([]byte, error) { return nil, errUnset }
func (Unset) Put(context.Context, string, []byte) error   { return errUnset }
func (Unset) Delete(context.Context, string) error        { return errUnset }

// Cached wraps a Store with a TTL cache. Writes through this instance update it;
// other instances see a change within TTL.
type Cached struct {
	Next Store
	TTL  time.Duration
	Now  func() time.Time

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	val     []byte
	expires time.Time
}

// NewCached returns a cache over next.
func NewCached(next Store, ttl time.Duration, now func() time.Time) *Cached {
	return &Cached{Next: next, TTL: ttl, Now: now, entries: map[string]entry{}}
}

func (c *Cached) Get(ctx context.Context, name string) ([]byte, error) {
	c.mu.Lock()
	e, ok := c.entries[name]
	c.mu.Unlock()
	if ok && c.Now().Before(e.expires) {
		return e.val, nil
	}
	v, err := c.Next.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[name] = entry{val: v, expires: c.Now().Add(c.TTL)}
	c.mu.Unlock()
	return v, nil
}

func (c *Cached) Put(ctx context.Context, name string, value []byte) error {
	c.forget(name)
	return c.Next.Put(ctx, name, value)
}

func (c *Cached) Delete(ctx context.Context, name string) error {
	c.forget(name)
	return c.Next.Delete(ctx, name)
}

func (c *Cached) forget(name string) {
	c.mu.Lock()
	delete(c.entries, name)
	c.mu.Unlock()
}

// Name is the secret name of a partner's provider credentials. IAM policies
// grant each stage only payrecon/<stage>/*.
func Name(stage, partnerID, provider string) string {
	return "payrecon/" + stage + "/" + partnerID + "/" + provider
}
