// Package smstore is the secrets.Store on AWS Secrets Manager. It is its own
// package so that functions keeping no partner credentials (payments, reports,
// bank feed, reconcile) neither link nor initialise the Secrets Manager SDK.
package smstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/payrecon/payrecon/shared/secrets"
)

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
			return nil, secrets.ErrNotFound
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
// reconfigure immediately; secrets.ErrNotFound when there was none.
func (m *Manager) Delete(ctx context.Context, name string) error {
	_, err := m.API.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return secrets.ErrNotFound
		}
		return fmt.Errorf("delete secret: %w", err)
	}
	return nil
}
