package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/registry"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// expected statuses for events whose outcome on freshly seeded demo data is known;
// every other event must simply not fail (no 5xx, no 401: its placeholders worked).
var expected = map[string]int{
	"credentials-put-stripe":     200,
	"credentials-put-qualpay":    200,
	"credentials-get-stripe":     200,
	"credentials-delete-qualpay": 204,
	"vault-create-customer":      201,
	"vault-list-customers":       200,
	"vault-get-customer":         404, // a fresh table: no customer yet
	"vault-create-plan":          201,
	"embedded-create-session":    201,
	"embedded-put-settings":      200,
	"splits-create-split-qualy":  404, // the guide's IDs as printed: no such payment intent here
	"plaid-list-items":           200,
	"plaid-get-integration":      404, // Plaid not configured on the demo partner
}

// TestEventsThroughLambda feeds every events/*.json through the real Lambda entry
// (aws-lambda-go-api-proxy adapter + handler), on freshly seeded demo data.
func TestEventsThroughLambda(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := samtemplate.Routes(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	if len(files) == 0 {
		t.Fatal("no events")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var probe struct {
			RouteKey string `json:"routeKey"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if probe.RouteKey == "" {
			continue // not an API Gateway event (SQS, schedule): covered by its function's tests
		}
		t.Run(name, func(t *testing.T) {
			env := testenv.New(t)
			// Events that call Qualpay reach the spec-validated fake, not the internet.
			qp := qualpayfake.Start(t, qualpayfake.Config{SecurityKey: demo.QualpaySecurityKey})
			if mid, err := strconv.ParseInt(demo.QualpayMerchantID, 10, 64); err == nil {
				qp.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Demo Bakery"})
			}
			env.Vars["QUALPAY_BASE_URL"] = qp.URL
			ctx := context.Background()
			d, err := demo.Seed(ctx, env.Env)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal([]byte(d.Fill(string(raw))), &ev); err != nil {
				t.Fatal(err)
			}
			demo.Resign(ev.Headers, ev.Body, time.Now())
			fn := functionFor(t, routes, ev.RouteKey)
			h, _, err := app.HTTPLambda(ctx, env.Getenv, registry.Functions[fn], env.Log)
			if err != nil {
				t.Fatal(err)
			}
			res, err := h(ctx, ev)
			if err != nil {
				t.Fatalf("lambda error: %v", err)
			}
			if want, ok := expected[name]; ok && res.StatusCode != want {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, want, res.Body)
			}
			if res.StatusCode >= 500 || res.StatusCode == 401 {
				t.Fatalf("status %d: %s", res.StatusCode, res.Body)
			}
		})
	}
}

func functionFor(t *testing.T, routes []samtemplate.Route, routeKey string) string {
	t.Helper()
	method, path, _ := strings.Cut(routeKey, " ")
	for _, r := range routes {
		if r.Path == path && (r.Method == method || r.Method == "ANY") {
			return r.Function
		}
	}
	t.Fatalf("no template route for %q", routeKey)
	return ""
}

// TestTemplateFunctionsRegistered: every function in template.yaml has a folder and,
// when it has HttpApi routes, a handler.
func TestTemplateFunctionsRegistered(t *testing.T) {
	root, _ := localstack.ModuleRoot()
	fns, err := samtemplate.Functions(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, _ := samtemplate.Routes(filepath.Join(root, "template.yaml"))
	for id, dir := range fns {
		if _, err := os.Stat(filepath.Join(root, "functions", dir, "main.go")); err != nil {
			t.Errorf("%s: functions/%s/main.go missing", id, dir)
		}
	}
	for _, r := range routes {
		if _, ok := registry.Functions[r.Function]; !ok {
			t.Errorf("route %s %s: function %q not in registry.Functions", r.Method, r.Path, r.Function)
		}
	}
}
