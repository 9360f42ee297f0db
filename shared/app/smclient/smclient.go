// Package smclient gives an Env its Secrets Manager store, for the functions
// that keep partner credentials (its own package, like sqsclient, so the others
// do not link or initialise the Secrets Manager SDK).
package smclient

import (
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/secrets"
	"github.com/payrecon/payrecon/shared/secrets/smstore"
)

// Use backs e.Secrets (and e.Credentials) with Secrets Manager over the Env's
// AWS config (SECRETSMANAGER_ENDPOINT when local); a no-op after the first call.
func Use(e *app.Env) {
	e.UseSecrets(func() secrets.Store {
		api := secretsmanager.NewFromConfig(e.AWS, func(o *secretsmanager.Options) {
			if e.Cfg.SecretsEndpoint != "" {
				o.BaseEndpoint = aws.String(e.Cfg.SecretsEndpoint)
			}
			if e.Cfg.AWSTransport != nil {
				o.HTTPClient = &http.Client{Transport: e.Cfg.AWSTransport, Timeout: 10 * time.Second}
			}
		})
		return &smstore.Manager{API: api, Tags: map[string]string{"app": "payrecon", "stage": e.Cfg.Stage}}
	})
}
