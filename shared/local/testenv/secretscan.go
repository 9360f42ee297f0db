package testenv

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// secretShapes are things that must never appear in a log line or a response:
// Stripe keys, webhook secrets, our API keys, and well-known test card numbers.
var secretShapes = regexp.MustCompile(`\b(sk|rk)_(test|live)_[A-Za-z0-9]{6,}|\bwhsec_[A-Za-z0-9+/=]{6,}|\bpr_(test|live)_[A-Za-z0-9_-]{20,}|\b(4111111111111111|4242424242424242|5555555555554444|5105105105105100|378282246310005|6011111111111117|4000056655665556)\b`)

// known holds exact secret values issued during the run (API keys), checked in every response.
var known struct {
	sync.Mutex
	values map[string]bool
}

func remember(v string) {
	if len(v) < 8 {
		return
	}
	known.Lock()
	defer known.Unlock()
	if known.values == nil {
		known.values = map[string]bool{}
	}
	known.values[v] = true
}

// findSecret returns a description of the first secret found in s, or "".
func findSecret(s string) string {
	if m := secretShapes.FindString(s); m != "" {
		return "secret-shaped value " + m[:min(len(m), 10)] + "…"
	}
	known.Lock()
	defer known.Unlock()
	for v := range known.values {
		if strings.Contains(s, v) {
			return "issued API key " + v[:10] + "…"
		}
	}
	return ""
}

// scanLogs fails t if anything secret reached the logs: shapes, issued keys, and
// every value of every secret this test stored in Secrets Manager.
func (e *Env) scanLogs(t testing.TB) {
	logs := e.Logs.String()
	if what := findSecret(logs); what != "" {
		t.Errorf("secret scan: %s in the logs", what)
		return
	}
	for _, v := range e.storedSecretValues(t) {
		if strings.Contains(logs, v) {
			t.Errorf("secret scan: a stored credential (%s…) is in the logs", v[:4])
			return
		}
	}
}

// storedSecretValues lists the string fields (8+ characters) of the secrets under this test's stage.
func (e *Env) storedSecretValues(t testing.TB) []string {
	sm := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(e.Stack.SecretsURL),
		// moto routes requests by the signature's service name, so sign them.
		Credentials: awscreds.NewStaticCredentialsProvider("local", "local", ""),
	})
	ctx := context.Background()
	var out []string
	prefix := "payrecon/" + e.Cfg.Stage + "/"
	p := secretsmanager.NewListSecretsPaginator(sm, &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Logf("secret scan: cannot list secrets: %v", err)
			return out
		}
		for _, s := range page.SecretList {
			if !strings.HasPrefix(aws.ToString(s.Name), prefix) {
				continue
			}
			v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: s.Name})
			if err != nil {
				continue // deleted by the test
			}
			var fields map[string]any
			if json.Unmarshal([]byte(aws.ToString(v.SecretString)), &fields) != nil {
				continue
			}
			out = appendSecretStrings(out, fields)
		}
	}
	return out
}

// appendSecretStrings collects the string values (8+ characters) of a stored
// secret, nested ones included (webhook secret sets are arrays of objects);
// IDs and timestamps of those entries are not secret.
func appendSecretStrings(out []string, v any) []string {
	switch x := v.(type) {
	case string:
		if len(x) >= 8 && x != "sandbox" && x != "production" {
			out = append(out, x)
		}
	case []any:
		for _, e := range x {
			out = appendSecretStrings(out, e)
		}
	case map[string]any:
		for k, e := range x {
			if k == "id" || k == "kind" || k == "created_at" {
				continue
			}
			out = appendSecretStrings(out, e)
		}
	}
	return out
}
