// Package secrets keeps partner credentials in AWS Secrets Manager behind a
// small interface, with an in-process TTL cache so a warm Lambda does not pay
// a Secrets Manager round trip on every webhook.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// ErrNotFound is returned when no secret has the name.
var ErrNotFound = errors.New("secrets: not found")

// Store reads and writes secret strings by name.
type Store interface {
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, value []byte) error
	Delete(ctx context.Context, name string) error
}

// API is the part of the Secrets Manager client we use.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// Manager is a Store on Secrets Manager.
type Manager struct {
	API API
	// Tags are added to every new secret (e.g. stage, partner).
	Tags map[string]string
}

// Get returns the current version's SecretString.
func (m *Manager) Get(ctx context.Context, name string) ([]byte, error) {
	out, err := m.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get secret: %w", err)
	}
	return []byte(aws.ToString(out.SecretString)), nil
}

// Put creates the secret or, when it exists, adds a new version (a replace, never a duplicate).
func (m *Manager) Put(ctx context.Context, name string, value []byte) error {
	var tags []types.Tag
	for k, v := range m.Tags {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := m.API.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(string(value)), Tags: tags,
	})
	if err == nil {
		return nil
	}
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		return fmt.Errorf("create secret: %w", err)
	}
	if _, err := m.API.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(name), SecretString: aws.String(string(value)),
	}); err != nil {
		return fmt.Errorf("put secret value: %w", err)
	}
	return nil
}

// Delete removes the secret at once (no recovery window), so a partner can
// reconfigure immediately; ErrNotFound when there was none.
func (m *Manager) Delete(ctx context.Context, name string) error {
	_, err := m.API.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return ErrNotFound
		}
		return fmt.Errorf("delete secret: %w", err)
	}
	return nil
}

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
