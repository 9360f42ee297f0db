package app_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestEachFunctionLinksOnlyItsOwnCode: a Lambda initialises every package it
// links, so each functions/* main may reach only its own builder packages
// (shared/app/<name>fn and what they share), never the registry of all
// functions, never yaml.v3 (template parsing is local-only), and never the
// SDK's default config loader with its SSO/OIDC/STS credential chains.
func TestEachFunctionLinksOnlyItsOwnCode(t *testing.T) {
	const mod = "github.com/payrecon/payrecon/"
	own := map[string][]string{
		"credentials": {"credentialsfn", "smclient"},
		// Linking a Qualpay merchant and the reconcile schedule queue Qualpay
		// pulls on the work queue (workerfn.QualpayPulls); the OAuth redirect does not.
		"connections":     {"connectionsfn", "connectfn", "workerfn", "stores", "sqsclient", "smclient"},
		"stripe-oauth":    {"connectfn", "smclient"},
		"stripe-webhook":  {"webhookfn", "connectfn", "splitsfn", "workerfn", "stores", "sqsclient", "smclient"},
		"qualpay-webhook": {"webhookfn", "connectfn", "splitsfn", "workerfn", "stores", "sqsclient", "smclient"},
		"payments":        {"paymentsfn", "stores"},
		// The daily Account Updater pass queues its jobs on the work queue.
		"vault":     {"vaultfn", "workerfn", "stores", "sqsclient", "smclient"},
		"splits":    {"splitsfn", "smclient"},
		"bank-feed": {"reconfn", "reconrun", "stores", "workerfn", "sqsclient"},
		"reconcile": {"reconfn", "reconrun", "stores", "workerfn", "sqsclient"},
		"reports":   {"reconfn", "reconrun", "stores", "workerfn", "sqsclient"},
		"worker":    {"workerfn", "stores", "sqsclient", "smclient"},
		// The Embedded UI serves the connect and payouts services and reads
		// reconciliation (reconfn.EmbedService; its writes are the reconcile function's).
		"embedded": {"embeddedfn", "connectfn", "reconfn", "reconrun", "workerfn", "stores", "sqsclient", "smclient"},
		// Syncs store bank lines (reconrun.Service's feed) and queue the company's
		// reconcile run for the reconcile function (reconrun.Queue); neither the
		// reconcile builder (the Embedded UI's routes) nor the worker's.
		"plaid": {"plaidfn", "reconrun", "stores", "sqsclient", "smclient"},
		// Issue 20: endpoints/events API, the relay and the sender share one builder.
		"notifications":        {"notifyfn", "sqsclient", "smclient"},
		"notifications-relay":  {"notifyfn", "sqsclient", "smclient"},
		"notifications-sender": {"notifyfn", "sqsclient", "smclient"},
	}
	// Every linked SDK service package is initialised on each cold start
	// (schemas, endpoint tables: ≈0.2 ms and 0.2 MB each), so the functions
	// that keep no credentials or send no messages must not link them.
	const sm, sqs = "github.com/aws/aws-sdk-go-v2/service/secretsmanager", "github.com/aws/aws-sdk-go-v2/service/sqs"
	notLinked := map[string][]string{
		"payments": {sm, sqs}, "bank-feed": {sm}, "reconcile": {sm}, "reports": {sm},
		"credentials": {sqs}, "splits": {sqs}, "stripe-oauth": {sqs},
		// The plaid function is ≈0.15 MB under 9 MB: none of the Embedded UI's or
		// the worker's packages (their package init and data), which came with
		// reconfn and workerfn.
		"plaid": {mod + "shared/embed", mod + "shared/connect", mod + "shared/webhooks", mod + "shared/vault",
			"github.com/go-json-experiment/json"},
	}
	forbidden := []string{
		mod + "shared/registry", mod + "shared/samtemplate", "gopkg.in/yaml.v3",
		"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sso",
		"github.com/aws/aws-sdk-go-v2/service/ssooidc", "github.com/aws/aws-sdk-go-v2/service/sts",
		"text/template", "html/template",
		// client.API builds every stripe-go service client; stripeapi.Clients has the few we call.
		"github.com/stripe/stripe-go/v76/client",
		// The schema-serde packages that aws-sdk-go-v2 added to DynamoDB (v1.69),
		// DynamoDB Streams (v1.42; attributevalue links its types), Secrets
		// Manager (v1.50) and SQS (v1.49) build every shape's schema at package init: 1.5 ms and
		// 0.3-0.45 MB per cold start measured (docs/lambda-size.md). go.mod pins
		// the releases before them; an upgrade that brings them back fails here.
		"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas",
		"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/schemas",
		"github.com/aws/aws-sdk-go-v2/service/secretsmanager/schemas",
		"github.com/aws/aws-sdk-go-v2/service/sqs/schemas",
	}
	out, err := exec.Command("go", "list", "-tags", "lambda.norpc",
		"-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		name := strings.TrimPrefix(f[0], mod+"functions/")
		t.Run(name, func(t *testing.T) {
			allowed, ok := own[name]
			if !ok {
				t.Fatalf("add functions/%s to this test's map with the builder packages it owns", name)
			}
			for _, dep := range f[1:] {
				if pkg, isApp := strings.CutPrefix(dep, mod+"shared/app/"); isApp && !slices.Contains(allowed, pkg) {
					t.Errorf("%s links another function's builder %s", name, dep)
				}
				for _, bad := range append(forbidden, notLinked[name]...) {
					if dep == bad {
						t.Errorf("%s links %s", name, dep)
					}
				}
			}
		})
	}
}
