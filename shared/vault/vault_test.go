package vault_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/vault"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	mid      = int64(212000000001)
	otherMID = int64(212000000002)
)

// world: a partner with Qualpay credentials, company co linked to merchant
// mid, the vault function on a test server, and the spec-validating fake.
type world struct {
	env *testenv.Env
	fk  *qualpayfake.Server
	srv *httptest.Server
	pid string
	key string
	co  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	fk := qualpayfake.Start(t)
	fk.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Demo Bakery"})
	fk.AddMerchant(qualpayfake.Merchant{ID: otherMID, DBAName: "Other"})
	env := testenv.New(t, func(c *app.Config) { c.QualpayBaseURL = fk.URL })
	w := &world{env: env, fk: fk, srv: env.Server("vault")}
	w.pid, w.key = env.Partner("Acme")
	w.configure(t, w.pid)
	w.co = w.company(t, w.pid, "bakery", mid)
	return w
}

func (w *world) configure(t *testing.T, pid string) {
	t.Helper()
	if _, err := w.env.Credentials.ConfigureQualpay(context.Background(), pid, credentials.QualpayCredentials{
		SecurityKey: w.fk.Key(), IntegratorID: "301", WebhookSecret: "qpwebhooksecret1", Environment: "sandbox"}); err != nil {
		t.Fatal(err)
	}
}

// company creates a company and links it to merchant (0: no link).
func (w *world) company(t *testing.T, pid, ext string, merchant int64) string {
	t.Helper()
	ctx := context.Background()
	c, _, err := w.env.Companies.Create(ctx, pid, ext, "Company "+ext)
	if err != nil {
		t.Fatal(err)
	}
	if merchant != 0 {
		if _, _, err := w.env.Companies.Connect(ctx, companies.Connection{PartnerID: pid, CompanyID: c.ID, Provider: "qualpay",
			AccountID: fmt.Sprint(merchant), Method: "linked", ConnectedAt: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	return c.ID
}

func (w *world) url(co, path string) string {
	return w.srv.URL + "/v1/companies/" + co + "/qualpay/customers" + path
}

func (w *world) do(t *testing.T, method, co, path string, body any) testenv.Response {
	t.Helper()
	return testenv.Do(t, method, w.url(co, path), w.key, body)
}

func want(t *testing.T, res testenv.Response, status int, code string) {
	t.Helper()
	if res.Status != status || (code != "" && res.ErrorCode() != code) {
		t.Fatalf("status %d %s, want %d %s", res.Status, res.Body, status, code)
	}
}

func (w *world) token(t *testing.T, pan, exp string) string {
	t.Helper()
	id, err := w.fk.Tokenize(pan, exp)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func cardBody(token string) map[string]any {
	return map[string]any{"card_id": token, "billing": map[string]any{"first_name": "John", "last_name": "Doe", "address1": "1 Main St", "zip": "94402"}}
}

// TestLifecycle is the walk: create with names only, add email
// later, add two cards, switch primary, add and remove shipping addresses, delete.
func TestLifecycle(t *testing.T) {
	w := newWorld(t)
	visa, mc := w.token(t, "4111111111111111", "1228"), w.token(t, "5555555555554444", "0327")
	var c vault.Customer
	var shipA, shipB int64
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"create with names only", func(t *testing.T) {
			res := w.do(t, "POST", w.co, "", `{"first_name":"John","last_name":"Doe"}`)
			want(t, res, 201, "")
			res.JSON(t, &c)
			if !qualpay.ValidCustomerID(c.CustomerID) || c.MerchantID != mid || len(c.Cards) != 0 {
				t.Fatalf("created %+v", c)
			}
		}},
		{"add email later", func(t *testing.T) {
			res := w.do(t, "PATCH", w.co, "/"+c.CustomerID, `{"email":"john@example.com"}`)
			want(t, res, 200, "")
			res.JSON(t, &c)
			if c.Email != "john@example.com" || c.FirstName != "John" {
				t.Fatalf("patched %+v", c)
			}
		}},
		{"add two cards, the first is primary", func(t *testing.T) {
			var card vault.Card
			res := w.do(t, "POST", w.co, "/"+c.CustomerID+"/cards", cardBody(visa))
			want(t, res, 201, "")
			res.JSON(t, &card)
			if card.CardID != visa || !card.Primary || card.MaskedNumber != "411111xxxxxx1111" || card.CardType != "VS" {
				t.Fatalf("card 1 %+v", card)
			}
			res = w.do(t, "POST", w.co, "/"+c.CustomerID+"/cards", cardBody(mc))
			want(t, res, 201, "")
			res.JSON(t, &card)
			if card.Primary {
				t.Fatalf("card 2 primary: %+v", card)
			}
		}},
		{"switch primary card", func(t *testing.T) {
			var card vault.Card
			res := w.do(t, "POST", w.co, "/"+c.CustomerID+"/cards/"+mc+"/primary", nil)
			want(t, res, 200, "")
			res.JSON(t, &card)
			var list struct{ Data []vault.Card }
			w.do(t, "GET", w.co, "/"+c.CustomerID+"/cards", nil).JSON(t, &list)
			if !card.Primary || len(list.Data) != 2 || list.Data[0].Primary || !list.Data[1].Primary {
				t.Fatalf("cards %+v", list.Data)
			}
		}},
		{"update a card's expiry keeps its billing address", func(t *testing.T) {
			var card vault.Card
			res := w.do(t, "PATCH", w.co, "/"+c.CustomerID+"/cards/"+visa, `{"exp_date":"0130","billing":{"city":"San Mateo"}}`)
			want(t, res, 200, "")
			res.JSON(t, &card)
			if card.ExpDate != "0130" || card.Billing.City != "San Mateo" || card.Billing.Address1 != "1 Main St" || card.Billing.Zip != "94402" {
				t.Fatalf("card %+v", card)
			}
		}},
		{"add two shipping addresses", func(t *testing.T) {
			var a vault.Address
			res := w.do(t, "POST", w.co, "/"+c.CustomerID+"/shipping-addresses", `{"first_name":"John","last_name":"Doe","address1":"1 Main St","city":"San Mateo","state":"CA","zip":"94402"}`)
			want(t, res, 201, "")
			res.JSON(t, &a)
			shipA = a.ShippingID
			if !a.Primary || a.City != "San Mateo" {
				t.Fatalf("address 1 %+v", a)
			}
			res = w.do(t, "POST", w.co, "/"+c.CustomerID+"/shipping-addresses", `{"first_name":"Jane","last_name":"Doe","city":"Oakland"}`)
			want(t, res, 201, "")
			res.JSON(t, &a)
			shipB = a.ShippingID
			if a.Primary || shipB == shipA {
				t.Fatalf("address 2 %+v", a)
			}
		}},
		{"update and switch primary address", func(t *testing.T) {
			var a vault.Address
			res := w.do(t, "PATCH", w.co, fmt.Sprintf("/%s/shipping-addresses/%d", c.CustomerID, shipB), `{"city":"Berkeley"}`)
			want(t, res, 200, "")
			res.JSON(t, &a)
			if a.City != "Berkeley" || a.FirstName != "Jane" {
				t.Fatalf("address %+v", a)
			}
			res = w.do(t, "POST", w.co, fmt.Sprintf("/%s/shipping-addresses/%d/primary", c.CustomerID, shipB), nil)
			want(t, res, 200, "")
			res.JSON(t, &a)
			if !a.Primary {
				t.Fatalf("address %+v", a)
			}
		}},
		{"remove a shipping address", func(t *testing.T) {
			want(t, w.do(t, "DELETE", w.co, fmt.Sprintf("/%s/shipping-addresses/%d", c.CustomerID, shipA), nil), 204, "")
			var list struct{ Data []vault.Address }
			w.do(t, "GET", w.co, "/"+c.CustomerID+"/shipping-addresses", nil).JSON(t, &list)
			if len(list.Data) != 1 || list.Data[0].ShippingID != shipB || !list.Data[0].Primary {
				t.Fatalf("addresses %+v", list.Data)
			}
		}},
		{"list shows a summary without card numbers", func(t *testing.T) {
			res := w.do(t, "GET", w.co, "", nil)
			want(t, res, 200, "")
			var list struct{ Data []vault.Summary }
			res.JSON(t, &list)
			if len(list.Data) != 1 || list.Data[0].Email != "john@example.com" || len(list.Data[0].Cards) != 2 || list.Data[0].ShippingAddressCount != 1 {
				t.Fatalf("list %s", res.Body)
			}
			if strings.Contains(string(res.Body), "4111111111111111") {
				t.Fatal("full card number in a list")
			}
		}},
		{"delete a card and the customer", func(t *testing.T) {
			want(t, w.do(t, "DELETE", w.co, "/"+c.CustomerID+"/cards/"+visa, nil), 204, "")
			want(t, w.do(t, "DELETE", w.co, "/"+c.CustomerID, nil), 204, "")
			want(t, w.do(t, "GET", w.co, "/"+c.CustomerID, nil), 404, "not_found")
			want(t, w.do(t, "DELETE", w.co, "/"+c.CustomerID, nil), 404, "not_found")
			if _, ok := w.fk.Customer(mid, c.CustomerID); ok {
				t.Fatal("customer still at Qualpay")
			}
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}

func TestBadInput(t *testing.T) {
	const pan = "4111111111111111"
	tests := []struct {
		name       string
		setup      func(t *testing.T, w *world) (method, path string, body any)
		wantStatus int
		wantCode   string
		noQualpay  bool // the request must not reach Qualpay
	}{
		{"unknown customer", func(t *testing.T, w *world) (string, string, any) { return "GET", "/NOBODY", nil }, 404, "not_found", true},
		{"invalid customer_id on create", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "", `{"customer_id":"no-dashes","first_name":"A","last_name":"B"}`
		}, 422, "unprocessable_entity", true},
		{"customer_id over 32 characters", func(t *testing.T, w *world) (string, string, any) {
			return "GET", "/" + strings.Repeat("A", 33), nil
		}, 422, "unprocessable_entity", true},
		{"names required", func(t *testing.T, w *world) (string, string, any) { return "POST", "", `{"email":"a@b.co"}` }, 422, "unprocessable_entity", true},
		{"raw PAN in comments", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "", `{"first_name":"A","last_name":"B","comments":"card ` + pan + `"}`
		}, 422, "unprocessable_entity", true},
		{"raw PAN as card_number", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "/JOHNDOE1/cards", `{"card_number":"4111 1111 1111 1111","billing":{"zip":"94402"}}`
		}, 422, "unprocessable_entity", true},
		{"raw PAN in the path", func(t *testing.T, w *world) (string, string, any) { return "GET", "/" + pan, nil }, 422, "unprocessable_entity", true},
		{"raw PAN in a filter", func(t *testing.T, w *world) (string, string, any) { return "GET", "?name=" + pan, nil }, 422, "unprocessable_entity", true},
		{"cvv is refused by name", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "/JOHNDOE1/cards", `{"card_id":"abc123","cvv2":"123","billing":{"zip":"94402"}}`
		}, 422, "unprocessable_entity", true},
		{"unknown field", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "", `{"first_name":"A","last_name":"B","nickname":"x"}`
		}, 422, "unprocessable_entity", true},
		{"malformed JSON", func(t *testing.T, w *world) (string, string, any) { return "POST", "", `{"first_name":` }, 400, "invalid_request", true},
		{"duplicate customer_id", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "", `{"customer_id":"JOHNDOE1","first_name":"J","last_name":"D"}`
		}, 409, "conflict", true},
		{"unknown card token", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "/JOHNDOE1/cards", cardBody("0123456789abcdef0123456789abcdef")
		}, 422, "unprocessable_entity", false},
		{"unknown card", func(t *testing.T, w *world) (string, string, any) {
			return "POST", "/JOHNDOE1/cards/0123456789abcdef0123456789abcdef/primary", nil
		}, 404, "not_found", false},
		{"unknown shipping address", func(t *testing.T, w *world) (string, string, any) {
			return "DELETE", "/JOHNDOE1/shipping-addresses/999", nil
		}, 404, "not_found", false},
		{"card used by a subscription cannot be deleted", func(t *testing.T, w *world) (string, string, any) {
			c, _ := w.fk.Customer(mid, "JOHNDOE1")
			if _, err := w.fk.AddSubscription(mid, qualpay.Subscription{CustomerID: "JOHNDOE1"}); err != nil {
				t.Fatal(err)
			}
			return "DELETE", "/JOHNDOE1/cards/" + c.BillingCards[0].CardID, nil
		}, 409, "conflict", false},
		{"customer with subscriptions needs confirm", func(t *testing.T, w *world) (string, string, any) {
			if _, err := w.fk.AddSubscription(mid, qualpay.Subscription{CustomerID: "JOHNDOE1"}); err != nil {
				t.Fatal(err)
			}
			return "DELETE", "/JOHNDOE1", nil
		}, 409, "conflict", false},
		{"confirmed delete removes subscriptions too", func(t *testing.T, w *world) (string, string, any) {
			if _, err := w.fk.AddSubscription(mid, qualpay.Subscription{CustomerID: "JOHNDOE1"}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if subs := w.fk.Subscriptions(mid); len(subs) != 0 {
					t.Errorf("subscriptions left: %+v", subs)
				}
			})
			return "DELETE", "/JOHNDOE1?confirm=true", nil
		}, 204, "", false},
		{"company without a Qualpay link", func(t *testing.T, w *world) (string, string, any) {
			w.co = w.company(t, w.pid, "unlinked", 0)
			return "GET", "", nil
		}, 409, "conflict", true},
		{"unknown company", func(t *testing.T, w *world) (string, string, any) {
			w.co = "co_01jzzzzzzzzzzzzzzzzzzzzzzz"
			return "GET", "", nil
		}, 404, "not_found", true},
		{"Qualpay down", func(t *testing.T, w *world) (string, string, any) {
			w.fk.InjectFault(qualpayfake.Fault{Status: 503, RetryAfter: "4"})
			return "GET", "/JOHNDOE1", nil
		}, 502, "upstream_error", false},
		{"bad limit", func(t *testing.T, w *world) (string, string, any) { return "GET", "?limit=1000", nil }, 400, "invalid_request", true},
		{"method not allowed", func(t *testing.T, w *world) (string, string, any) { return "PUT", "/JOHNDOE1", `{}` }, 405, "method_not_allowed", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			visa := w.token(t, "4111111111111111", "1228")
			want(t, w.do(t, "POST", w.co, "", map[string]any{"customer_id": "JOHNDOE1", "first_name": "John", "last_name": "Doe"}), 201, "")
			want(t, w.do(t, "POST", w.co, "/JOHNDOE1/cards", cardBody(visa)), 201, "")
			method, path, body := tc.setup(t, w)
			w.fk.ResetRequests()
			res := w.do(t, method, w.co, path, body)
			want(t, res, tc.wantStatus, tc.wantCode)
			if tc.noQualpay && len(w.fk.Requests()) != 0 {
				t.Errorf("%d requests reached Qualpay", len(w.fk.Requests()))
			}
			if tc.wantStatus == 502 && res.Header.Get("Retry-After") != "4" {
				t.Errorf("502 with Retry-After %q, want Qualpay's 4", res.Header.Get("Retry-After"))
			}
			for _, s := range []string{pan, "1111 1111", w.fk.Key()} {
				if strings.Contains(string(res.Body), s) || strings.Contains(w.env.Logs.String(), s) {
					t.Errorf("%q leaked into the response or logs", s)
				}
			}
		})
	}
}

func TestTenantIsolation(t *testing.T) {
	w := newWorld(t)
	want(t, w.do(t, "POST", w.co, "", `{"customer_id":"SECRET1","first_name":"Ann","last_name":"Lee"}`), 201, "")

	// Another partner, with its own credentials, company and merchant.
	pidB, keyB := w.env.Partner("Beta")
	w.configure(t, pidB)
	coB := w.company(t, pidB, "beta", otherMID)
	// Another company of the same partner, on another merchant.
	co2 := w.company(t, w.pid, "second", 0)
	if _, _, err := w.env.Companies.Connect(context.Background(), companies.Connection{PartnerID: w.pid, CompanyID: co2, Provider: "qualpay",
		AccountID: "212000000003", Method: "linked", ConnectedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	w.fk.AddMerchant(qualpayfake.Merchant{ID: 212000000003})
	// A customer created at Qualpay outside payrecon, in this company's merchant.
	direct, err := qualpay.New(qualpay.Config{BaseURL: w.fk.URL, SecurityKey: w.fk.Key(), HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.CreateCustomer(context.Background(), mid, qualpay.CustomerInput{CustomerID: "OUTSIDE1", FirstName: "Out", LastName: "Side"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		key, co    string
		path       string
		wantStatus int
		wantEmpty  bool
	}{
		{"other partner on our company", keyB, w.co, "/SECRET1", 404, false},
		{"other partner lists our company", keyB, w.co, "", 404, false},
		{"other partner's own company", keyB, coB, "/SECRET1", 404, false},
		{"other partner's own list", keyB, coB, "", 200, true},
		{"same partner, other company", w.key, co2, "/SECRET1", 404, false},
		{"same partner, other company's list", w.key, co2, "", 200, true},
		{"owner", w.key, w.co, "/SECRET1", 200, false},
		{"customer made outside payrecon", w.key, w.co, "/OUTSIDE1", 404, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := testenv.Do(t, "GET", w.url(tc.co, tc.path), tc.key, nil)
			if res.Status != tc.wantStatus {
				t.Fatalf("status %d %s, want %d", res.Status, res.Body, tc.wantStatus)
			}
			if tc.wantEmpty && !strings.Contains(string(res.Body), `"data":[]`) {
				t.Fatalf("list not empty: %s", res.Body)
			}
			if tc.wantStatus != 200 && strings.Contains(string(res.Body), "Ann") {
				t.Fatalf("leak: %s", res.Body)
			}
		})
	}
}

func TestListPagingAndFilters(t *testing.T) {
	w := newWorld(t)
	people := [][3]string{{"A1", "Ann", "ann@shop.example"}, {"B2", "Bob", "bob@mail.example"}, {"C3", "Cara", "cara@shop.example"}, {"D4", "Dan", "dan@mail.example"}, {"E5", "Eve", "eve@shop.example"}}
	for _, p := range people {
		want(t, w.do(t, "POST", w.co, "", map[string]any{"customer_id": p[0], "first_name": p[1], "last_name": "Smith", "email": p[2]}), 201, "")
	}
	t.Run("cursor pages cover everyone once", func(t *testing.T) {
		seen := map[string]int{}
		cursor := ""
		for range 10 {
			var page struct {
				Data       []vault.Summary
				NextCursor string `json:"next_cursor"`
			}
			path := "?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			res := w.do(t, "GET", w.co, path, nil)
			want(t, res, 200, "")
			res.JSON(t, &page)
			for _, s := range page.Data {
				seen[s.CustomerID]++
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 5 {
			t.Fatalf("seen %v", seen)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s listed %d times", id, n)
			}
		}
	})
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"by email", "?email=SHOP.example", []string{"A1", "C3", "E5"}},
		{"by name", "?name=cara", []string{"C3"}},
		{"by last name", "?name=smith&email=mail", []string{"B2", "D4"}},
		{"no match", "?name=zed", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var page struct{ Data []vault.Summary }
			res := w.do(t, "GET", w.co, tc.query, nil)
			want(t, res, 200, "")
			res.JSON(t, &page)
			var ids []string
			for _, s := range page.Data {
				ids = append(ids, s.CustomerID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", ids, tc.want)
			}
		})
	}
	t.Run("a cursor from another company is refused", func(t *testing.T) {
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		w.do(t, "GET", w.co, "?limit=1", nil).JSON(t, &page)
		co2 := w.company(t, w.pid, "second", 212000000003)
		w.fk.AddMerchant(qualpayfake.Merchant{ID: 212000000003})
		want(t, w.do(t, "GET", co2, "?cursor="+page.NextCursor, nil), 400, "invalid_request")
	})
}

// TestAccountUpdaterShowsOnRead: Qualpay's Account Updater changes a card
// behind our back; reads show it at once and refresh the list summary.
func TestAccountUpdaterShowsOnRead(t *testing.T) {
	w := newWorld(t)
	visa := w.token(t, "4111111111111111", "1228")
	want(t, w.do(t, "POST", w.co, "", `{"customer_id":"AU1","first_name":"A","last_name":"U"}`), 201, "")
	want(t, w.do(t, "POST", w.co, "/AU1/cards", cardBody(visa)), 201, "")
	if err := w.fk.AccountUpdate(mid, "AU1", visa, "0931", "4012888888881881"); err != nil {
		t.Fatal(err)
	}
	var c vault.Customer
	w.do(t, "GET", w.co, "/AU1", nil).JSON(t, &c)
	if c.Cards[0].ExpDate != "0931" || c.Cards[0].MaskedNumber != "401288xxxxxx1881" {
		t.Fatalf("card %+v", c.Cards[0])
	}
	var list struct{ Data []vault.Summary }
	w.do(t, "GET", w.co, "", nil).JSON(t, &list)
	if list.Data[0].Cards[0].ExpDate != "0931" {
		t.Fatalf("summary %+v", list.Data[0])
	}
}

// TestCreateCompletesAfterLostResponse: Qualpay created the customer but its
// answer was lost (a gateway 502). The create is not retried blindly; the
// partner's retry of the same request adopts the customer instead of failing.
func TestCreateCompletesAfterLostResponse(t *testing.T) {
	w := newWorld(t)
	w.fk.InjectFault(qualpayfake.Fault{Method: "POST", PathPrefix: "/platform/vault/customer", Status: 502, Lose: true, Times: 1})
	body := `{"customer_id":"LOST1","first_name":"Lou","last_name":"Stone"}`
	want(t, w.do(t, "POST", w.co, "", body), 502, "upstream_error")
	if _, ok := w.fk.Customer(mid, "LOST1"); !ok {
		t.Fatal("fake did not apply the request")
	}
	want(t, w.do(t, "GET", w.co, "/LOST1", nil), 404, "not_found") // not ours until confirmed
	res := w.do(t, "POST", w.co, "", body)
	want(t, res, 201, "")
	want(t, w.do(t, "GET", w.co, "/LOST1", nil), 200, "")
	// A different body for the same id is not adopted.
	want(t, w.do(t, "POST", w.co, "", `{"customer_id":"LOST1","first_name":"X","last_name":"Y"}`), 409, "conflict")
}

func TestPatchMergesShippingArray(t *testing.T) {
	w := newWorld(t)
	want(t, w.do(t, "POST", w.co, "", `{"customer_id":"M1","first_name":"M","last_name":"One"}`), 201, "")
	var a vault.Address
	w.do(t, "POST", w.co, "/M1/shipping-addresses", `{"first_name":"Home","last_name":"One","city":"A"}`).JSON(t, &a)
	w.do(t, "POST", w.co, "/M1/shipping-addresses", `{"first_name":"Work","last_name":"One","city":"B"}`)
	visa := w.token(t, "4111111111111111", "1228")
	want(t, w.do(t, "POST", w.co, "/M1/cards", cardBody(visa)), 201, "")

	var c vault.Customer
	res := w.do(t, "PATCH", w.co, "/M1", map[string]any{"phone": "555-0100",
		"shipping_addresses": []map[string]any{{"shipping_id": a.ShippingID, "city": "A2"}, {"first_name": "Cabin", "last_name": "One", "primary": true}}})
	want(t, res, 200, "")
	res.JSON(t, &c)
	if c.Phone != "555-0100" || len(c.ShippingAddresses) != 3 || len(c.Cards) != 1 {
		t.Fatalf("customer %+v", c)
	}
	got := map[string]vault.Address{}
	for _, s := range c.ShippingAddresses {
		got[s.FirstName] = s
	}
	if got["Home"].City != "A2" || got["Work"].City != "B" || !got["Cabin"].Primary || got["Home"].Primary {
		t.Fatalf("addresses %+v", c.ShippingAddresses)
	}
	want(t, w.do(t, "PATCH", w.co, "/M1", `{"shipping_addresses":[{"shipping_id":12345,"city":"X"}]}`), 422, "unprocessable_entity")
	want(t, w.do(t, "PATCH", w.co, "/M1", `{}`), 400, "invalid_request")
}
