package splits_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/local/testenv"
)

// guideRequest is the body of the example in Qualy's guide
// https://docs.qualyhq.com/docs/guides/creating-payment-splits, as printed there.
const guideRequest = `{
      "type": "percentage-on-amount",
      "currency": "AUD",
      "amount": 3000,
      "partnership": "63a87a04ab1d29a82b52da9d",
      "item": "661e9bc0e0eb901d6b2f2682",
      "contact": "65d4bda07d46a66920967c39",
      "split": "63fdfda0c7ca4bb64baa50a3",
      "dueAt": "2024-08-20T17:39:31.219Z",
      "tax": "63d8f17ad1544ab1b4d6ef47",
      "percentage": 0.3,
      "paymentIntent": "661e9bbfe0eb901d6b2f2670"
    }`

// qualy sends a request the way the guide does: ApiKey scheme and X-TENANT-ID.
func (w *world) qualy(tenant, body string) testenv.Response {
	w.t.Helper()
	h := map[string]string{"Authorization": "ApiKey " + w.d.APIKey}
	if tenant != "" {
		h["X-TENANT-ID"] = tenant
	}
	return w.post("/v1/payment-splits/create", body, h)
}

// TestGuideExample sends the guide's example request byte for byte, its IDs
// replaced by real ones, through the template's routes.
func TestGuideExample(t *testing.T) {
	w := newWorld(t)
	tax := w.create("/v1/taxes", `{"name":"GST","country":"AU","tax_type":"gst","inclusive":false,"percentage":0.1}`)["id"].(string)
	intentID, items := w.intent(`{"company":"` + w.d.CompanyID + `","contact":"ct_1","currency":"AUD","items":[
		{"name":"Tuition","amount":10000},{"name":"Enrolment","amount":5000}]}`)
	ref := w.create("/v1/payment-splits", map[string]any{"type": "fixed", "amount": 1000, "item": items[1], "partnership": w.school, "payment_intent": intentID})["id"].(string)
	ids := strings.NewReplacer(
		"63a87a04ab1d29a82b52da9d", w.agent, "661e9bc0e0eb901d6b2f2682", items[0], "63fdfda0c7ca4bb64baa50a3", ref,
		"63d8f17ad1544ab1b4d6ef47", tax, "661e9bbfe0eb901d6b2f2670", intentID)
	body := ids.Replace(guideRequest)

	res := w.qualy(w.d.CompanyID, body)
	if res.Status != http.StatusCreated {
		t.Fatalf("guide request: %d %s", res.Status, res.Body)
	}
	var got map[string]any
	res.JSON(t, &got)
	want := map[string]any{
		"type": "percentage-on-amount", "currency": "AUD", "amount": float64(3000), "percentage": 0.3,
		"partnership": w.agent, "item": items[0], "contact": "65d4bda07d46a66920967c39", "split": ref,
		"dueAt": "2024-08-20T17:39:31.219Z", "tax": tax, "taxTotal": float64(300), "paymentIntent": intentID,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	id, _ := got["_id"].(string)
	for _, snake := range []string{"id", "due_at", "payment_intent", "tax_total"} {
		if _, ok := got[snake]; ok {
			t.Errorf("response has snake_case %q: %s", snake, res.Body)
		}
	}
	if id == "" {
		t.Fatalf("no _id: %s", res.Body)
	}

	// One engine: the snake_case API reads the same split, and the reference
	// changes nobody's share (school keeps its fixed 10.00, the tenant the rest).
	var snake map[string]any
	w.do("GET", "/v1/payment-splits/"+id, nil).JSON(t, &snake)
	if snake["amount"] != float64(3000) || snake["split"] != ref || snake["due_at"] != "2024-08-20T17:39:31.219Z" {
		t.Errorf("snake_case read: %v", snake)
	}
	v := w.payouts(intentID)
	got2 := map[string]int64{"self": v.Tenant.Amount}
	for _, p := range v.Breakdown.Payees {
		got2[p.Partnership] = p.Amount
	}
	if got2[w.agent] != 3000 || got2[w.school] != 1000 || got2["self"] != 11000 {
		t.Errorf("payees %v, want agent 3000, school 1000, self 11000", got2)
	}

	otherTenant, _, err := w.env.Companies.Create(context.Background(), w.d.PartnerID, "other-tenant", "Other tenant")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tenant, body string
		status             int
		want               string
	}{
		{"no tenant header", "", body, 400, "X-TENANT-ID"},
		{"unknown tenant", "co_unknown", body, 404, ""},
		{"another tenant's payment intent", otherTenant.ID, body, 404, "payment intent"},
		{"amount disagrees with percentage × item", w.d.CompanyID, strings.Replace(body, `"amount": 3000`, `"amount": 2999`, 1), 422, "amount 2999 does not match the computed percentage-on-amount amount 3000"},
		{"snake_case name on the camelCase route", w.d.CompanyID, strings.Replace(body, `"dueAt"`, `"due_at"`, 1), 400, `unknown field \"due_at\"`},
		{"camel field errors keep camel names", w.d.CompanyID, strings.Replace(body, `"2024-08-20T17:39:31.219Z"`, `"tomorrow"`, 1), 422, `"dueAt"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.qualy(tc.tenant, tc.body)
			if res.Status != tc.status || !strings.Contains(string(res.Body), tc.want) {
				t.Errorf("%d %s, want %d containing %q", res.Status, res.Body, tc.status, tc.want)
			}
		})
	}
}
