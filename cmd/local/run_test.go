package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestLocalRunnerServesEveryRoute builds what `make run` serves and checks that
// every HttpApi route of template.yaml reaches its function (not the 404
// fallback), with the demo partner's key working.
func TestLocalRunnerServesEveryRoute(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	stack, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	l, err := buildLocal(context.Background(), stack, "http://127.0.0.1:3000", uniqueTable(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLocal()
	srv := httptest.NewServer(l.Handler)
	d := l.Demo
	defer srv.Close()
	root, _ := localstack.ModuleRoot()
	routes, err := samtemplate.Routes(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range routes {
		path := rt.Path
		for _, seg := range strings.Split(rt.Path, "/") {
			switch {
			case seg == "{proxy+}":
				// Greedy routes serve files below them; ask for one that exists.
				path = strings.Replace(path, seg, "assets/app.css", 1)
			case strings.HasPrefix(seg, "{"):
				path = strings.Replace(path, seg, "x", 1)
			}
		}
		// Routes that authenticate by other means than the partner's API key
		// (an embed session, a provider's signature or JWT) answer 401 to this
		// unauthenticated probe: that still proves the route reaches its function.
		// The page's manual match routes (the reconcile function) take the embed session too.
		ownAuth := rt.Path == "/embed" || strings.HasPrefix(rt.Path, "/embed/api/") || rt.Path == "/plaid"
		method := rt.Method
		if method == "ANY" {
			method = "GET"
		}
		t.Run(rt.Function+" "+method+" "+rt.Path, func(t *testing.T) {
			res := testenv.Do(t, method, srv.URL+path, d.APIKey, nil)
			if strings.Contains(string(res.Body), "no route for") && !strings.HasPrefix(path, "/v1/integrations") {
				t.Fatalf("route not mounted: %d %s", res.Status, res.Body)
			}
			if (res.Status == 401 && !ownAuth) || res.Status >= 500 {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
		})
	}
	res := testenv.Do(t, "GET", srv.URL+"/v1/integrations/stripe", d.APIKey, nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"configured":true`) {
		t.Fatalf("demo partner has no Stripe credentials: %d %s", res.Status, res.Body)
	}
}

func TestCLIPartners(t *testing.T) {
	env := testenv.New(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"partners", "create", "-name", "Acme"}, &out, env.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pr_test_") {
		t.Fatalf("no key printed: %s", out.String())
	}
	if err := run(context.Background(), []string{"partners", "create"}, &out, env.Getenv); err == nil {
		t.Fatal("create without a name should fail")
	}
}

// uniqueTable gives each runner test its own table (the demo seed claims global
// account routes, so two seeds must not share one).
func uniqueTable(t *testing.T) func(string) string {
	name := "payrecon-local-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	return func(k string) string {
		if k == "PAYRECON_LOCAL_TABLE_NAME" {
			return name
		}
		return ""
	}
}

// TestLoadIsBoundedAndClean runs a tiny load and checks it stops by itself with no errors.
func TestLoadIsBoundedAndClean(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	var out bytes.Buffer
	getenv := uniqueTable(t)
	err := run(context.Background(), []string{"load", "-requests", "20", "-duration", "20s", "-concurrency", "1,4"}, &out, getenv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1+4*2 {
		t.Fatalf("unexpected report:\n%s", out.String())
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if errs, rej := f[len(f)-2], f[len(f)-1]; errs != "0" || rej != "0" {
			t.Fatalf("errors in load phase: %s", l)
		}
	}
	if err := loopbackOnly("http://10.0.0.1:80"); err == nil {
		t.Fatal("load accepted a non-loopback target")
	}
}

// TestDemo is `make demo`: the published example from signed webhooks to
// reconciled invoices and balanced journal entries.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, &out, uniqueTable(t)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"payout po_worked_example 3890.00 USD (complete), 5 items summing to 3890.00",
		"arrived through Plaid (link token, public-token exchange, signed SYNC_UPDATES_AVAILABLE, 1 /transactions/sync page; no push) and reconciled: 1 match, 4 invoices reconciled",
		"debits 8000.00 = credits 8000.00. Merchant fees 100.00, climate 10.00, clearing nets to 0.00",
		// Qualpay: the scheduled pull, no webhook.
		"the scheduled pull itemised deposit qp_212000000001_880001 1970.50 USD (complete)",
		"Bank deposit 1970.50 USD on",
		"reconciled by the schedule: 1 match, 4 invoices reconciled.",
		"debits 4000.00 = credits 4000.00. Merchant fees 29.50, Qualpay clearing nets to 0.00.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
