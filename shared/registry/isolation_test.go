package registry_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/registry"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// TestTenantIsolationEveryRoute walks every /v1 route of template.yaml, with
// every method, as partner B aimed at partner A's resources (and as A aimed at
// B's company): never a 2xx, and never any of A's identifiers in a response.
func TestTenantIsolationEveryRoute(t *testing.T) {
	qp := qualpayfake.Start(t, qualpayfake.Config{SecurityKey: demo.QualpaySecurityKey})
	mid, _ := strconv.ParseInt(demo.QualpayMerchantID, 10, 64)
	qp.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Demo Bakery"})
	env := testenv.New(t, func(c *app.Config) { c.QualpayBaseURL = qp.URL })
	ctx := context.Background()
	a, err := demo.Seed(ctx, env.Env)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := localstack.ModuleRoot()
	h, err := registry.Mount(env.Env, filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// A's resources, created through the API.
	ids := map[string]string{"company": a.CompanyID, "provider": "stripe"}
	create := func(kind, path string, body any, field string) {
		t.Helper()
		res := testenv.Do(t, "POST", srv.URL+path, a.APIKey, body)
		if res.Status != 201 && res.Status != 200 {
			t.Fatalf("seed %s: %d %s", kind, res.Status, res.Body)
		}
		var m map[string]any
		res.JSON(t, &m)
		id, _ := m[field].(string)
		if id == "" {
			t.Fatalf("seed %s: no %s in %s", kind, field, res.Body)
		}
		ids[kind] = id
	}
	co := "/v1/companies/" + a.CompanyID
	create("invoice", co+"/invoices", map[string]any{"external_id": "iso-1", "number": "INV-ISO-1", "customer": "C", "amount": 1000, "currency": "USD", "issued_at": "2026-11-01", "due_at": "2026-12-01"}, "id")
	create("customer", co+"/qualpay/customers", map[string]any{"first_name": "Jane", "last_name": "Baker"}, "customer_id")
	create("tax", "/v1/taxes", map[string]any{"name": "GST", "country": "AU", "tax_type": "gst", "inclusive": false, "percentage": 0.1}, "id")
	create("partnership", "/v1/partnerships", map[string]any{"name": "School", "stripe_account_id": "acct_1DemoBakery00001"}, "id")
	create("intent", "/v1/payment-intents", map[string]any{"company": a.CompanyID, "contact": "ct_1", "currency": "AUD", "due_at": "2030-01-01T00:00:00Z", "items": []map[string]any{{"name": "Tuition", "amount": 150000}}}, "id")

	var intent struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	testenv.Do(t, "GET", srv.URL+"/v1/payment-intents/"+ids["intent"], a.APIKey, nil).JSON(t, &intent)
	if len(intent.Items) == 0 {
		t.Fatal("intent has no items")
	}
	create("split", "/v1/payment-splits", map[string]any{"type": "percentage-on-amount", "currency": "AUD", "percentage": 0.3, "partnership": ids["partnership"], "item": intent.Items[0].ID, "payment_intent": ids["intent"]}, "id")

	_, keyB := env.Partner("Partner B")
	pidB := ""
	coB, _, err := env.Companies.Create(ctx, partnerOf(t, env, keyB), "b-1", "B Co")
	if err != nil {
		t.Fatal(err)
	}
	pidB = coB.PartnerID

	routes, err := samtemplate.Routes(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	secretsOfA := []string{a.CompanyID, a.PartnerID, ids["invoice"], ids["customer"], ids["tax"], ids["partnership"], ids["intent"], ids["split"], demo.StripeAccountID}
	checked := 0
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, "/v1/") {
			continue
		}
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			pathA := fill(rt.Path, ids)
			t.Run("B on A "+method+" "+rt.Path, func(t *testing.T) {
				res := testenv.Do(t, method, srv.URL+pathA, keyB, `{}`)
				if strings.Contains(rt.Path, "{") && res.Status/100 == 2 {
					t.Fatalf("B got %d on A's resource: %s", res.Status, res.Body)
				}
				for _, s := range secretsOfA {
					// Echoing an ID the caller itself sent ("tax X not found") reveals nothing.
					if strings.Contains(string(res.Body), s) && !strings.Contains(pathA, s) {
						t.Fatalf("B's response contains A's %s: %s", s, res.Body)
					}
				}
			})
			if strings.HasPrefix(rt.Path, "/v1/companies/{id}") {
				pathB := strings.Replace(pathA, a.CompanyID, coB.ID, 1)
				t.Run("A on B's company "+method+" "+rt.Path, func(t *testing.T) {
					if res := testenv.Do(t, method, srv.URL+pathB, a.APIKey, `{}`); res.Status/100 == 2 {
						t.Fatalf("A got %d on B's company: %s", res.Status, res.Body)
					}
				})
			}
			checked++
		}
	}
	t.Logf("isolation: %d route/method pairs checked with a foreign key (partner B %s)", checked, pidB)
	// A still sees its own data.
	if res := testenv.Do(t, "GET", srv.URL+co+"/invoices/"+ids["invoice"], a.APIKey, nil); res.Status != 200 {
		t.Fatalf("A lost its invoice: %d %s", res.Status, res.Body)
	}
}

// fill substitutes path parameters with A's resource IDs.
func fill(path string, ids map[string]string) string {
	byPrefix := map[string]string{"/v1/companies/": "company", "/v1/partnerships/": "partnership", "/v1/payment-intents/": "intent", "/v1/payment-splits/": "split", "/v1/taxes/": "tax"}
	for prefix, kind := range byPrefix {
		if strings.HasPrefix(path, prefix+"{id}") {
			path = strings.Replace(path, "{id}", ids[kind], 1)
		}
	}
	r := strings.NewReplacer("{invoice_id}", ids["invoice"], "{customer_id}", ids["customer"], "{provider}", "stripe",
		"{payout_id}", "po_worked_example", "{match_id}", "mt_unknown", "{card_id}", "card_unknown", "{shipping_id}", "1")
	return r.Replace(path)
}

func partnerOf(t *testing.T, env *testenv.Env, key string) string {
	t.Helper()
	pid, err := env.Partners.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
