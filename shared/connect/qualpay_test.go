package connect_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
)

// The Qualpay side is the shared qualpayfake: it validates every request and
// response against ../shared/specs/qualpay-openapi.yaml (kin-openapi) and
// reports contract violations to the test.

func TestQualpayLink(t *testing.T) {
	fake := qualpayfake.Start(t, qualpayfake.Config{SecurityKey: qpKey})
	fake.AddMerchant(qualpayfake.Merchant{ID: 212000000001, DBAName: "Demo Bakery"})
	fake.AddMerchant(qualpayfake.Merchant{ID: 212000000002, DBAName: "Other Shop"})
	w := newWorld(t, func(c *app.Config) { c.QualpayBaseURL = fake.URL })
	pid, key := w.partner("Acme", true)
	if _, err := w.env.Credentials.ConfigureQualpay(context.Background(), pid, credentials.QualpayCredentials{
		SecurityKey: qpKey, IntegratorID: "301", WebhookSecret: "qpwebhooksecret1", Environment: "sandbox"}); err != nil {
		t.Fatal(err)
	}
	co := w.company(key, "c1")
	link := func(key, co string, body any) testenv.Response {
		return testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+co+"/qualpay/link", key, body)
	}

	res := link(key, co, `{"merchant_id":212000000001}`)
	if res.Status != 201 {
		t.Fatalf("link = %d %s", res.Status, res.Body)
	}
	var c map[string]any
	res.JSON(t, &c)
	for k, v := range map[string]any{"provider": "qualpay", "account_id": "212000000001", "method": "linked", "livemode": false, "company_id": co} {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if res := link(key, co, `{"merchant_id":"212000000001"}`); res.Status != 200 {
		t.Fatalf("same link again = %d %s", res.Status, res.Body)
	}
	if r, err := w.env.Companies.LookupRoute(context.Background(), "qualpay", "212000000001"); err != nil || r.CompanyID != co {
		t.Fatalf("route = %+v %v", r, err)
	}

	co2 := w.company(key, "c2")
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"malformed json", `{"merchant_id":`, 400},
		{"missing", `{}`, 422},
		{"letters", `{"merchant_id":"abc"}`, 422},
		{"negative", `{"merchant_id":-5}`, 422},
		{"zero", `{"merchant_id":0}`, 422},
		{"fraction", `{"merchant_id":2120.5}`, 422},
		{"exponent", `{"merchant_id":2.12e11}`, 422},
		{"too long", `{"merchant_id":12345678901234567890}`, 422},
		{"object", `{"merchant_id":{"id":1}}`, 422},
		{"unknown merchant", `{"merchant_id":999999999999}`, 422},
		{"taken by another company", `{"merchant_id":212000000001}`, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := link(key, co2, tc.body)
			if res.Status != tc.status {
				t.Fatalf("got %d %s", res.Status, res.Body)
			}
			if tc.status == 422 && !strings.Contains(string(res.Body), `"merchant_id"`) {
				t.Fatalf("422 does not name merchant_id: %s", res.Body)
			}
		})
	}
	t.Run("wrong credentials", func(t *testing.T) {
		pid3, key3 := w.env.Partner("WrongKey")
		if _, err := w.env.Credentials.ConfigureQualpay(context.Background(), pid3, credentials.QualpayCredentials{
			SecurityKey: "ffffffffffffffffffffffffffffffff", IntegratorID: "301", WebhookSecret: "qpwebhooksecret1", Environment: "sandbox"}); err != nil {
			t.Fatal(err)
		}
		co3 := w.company(key3, "c3")
		res := link(key3, co3, `{"merchant_id":212000000002}`)
		if res.Status != 422 || !strings.Contains(string(res.Body), "credentials") || strings.Contains(string(res.Body), "ffffffff") {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	t.Run("qualpay down", func(t *testing.T) {
		fake.InjectFault(qualpayfake.Fault{PathPrefix: "/platform/vendor/settings/", Status: 503, Times: 2})
		defer fake.ClearFaults()
		res := link(key, co2, `{"merchant_id":212000000002}`)
		if res.Status != 502 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
		if conns := w.connections(key, co2); len(conns) != 0 {
			t.Fatalf("linked while Qualpay was down: %v", conns)
		}
	})
	t.Run("qualpay not configured", func(t *testing.T) {
		_, key4 := w.env.Partner("NoQualpay")
		co4 := w.company(key4, "c4")
		res := link(key4, co4, `{"merchant_id":212000000002}`)
		if res.Status != 422 || !strings.Contains(string(res.Body), "configure Qualpay") {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
	})
	t.Run("disconnect is idempotent", func(t *testing.T) {
		url := w.srv.URL + "/v1/companies/" + co + "/qualpay"
		if res := testenv.Do(t, "DELETE", url, key, nil); res.Status != 204 {
			t.Fatalf("delete = %d %s", res.Status, res.Body)
		}
		if res := testenv.Do(t, "DELETE", url, key, nil); res.Status != 404 {
			t.Fatalf("second delete = %d %s", res.Status, res.Body)
		}
		if _, err := w.env.Companies.LookupRoute(context.Background(), "qualpay", "212000000001"); err == nil {
			t.Fatal("route survived the disconnect")
		}
		// The merchant is free again for another company.
		if res := link(key, co2, `{"merchant_id":212000000001}`); res.Status != 201 {
			t.Fatalf("relink = %d %s", res.Status, res.Body)
		}
	})
	if logs := w.env.Logs.String(); strings.Contains(logs, qpKey) || strings.Contains(logs, base64.StdEncoding.EncodeToString([]byte(qpKey+":"))) {
		t.Fatal("the Qualpay key reached the logs")
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Fatalf("Qualpay contract violations: %v", v)
	}
	if n := fake.Calls("getMerchantSettings"); n == 0 {
		t.Fatal("the merchant check never reached Qualpay")
	}
}
