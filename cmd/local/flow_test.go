package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
)

// startRunner serves what `make run` serves on a real loopback server whose
// URL is the runner's public base (redirect URIs must point at the server the
// browser talks to); stopped when the test ends.
func startRunner(t *testing.T) (*local, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	stack, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	l, err := buildLocal(context.Background(), stack, base, uniqueTable(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLocal)
	srv.Config.Handler = l.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	return l, base
}

// TestMakeRunStripeFlow walks what a new user does after `make run`: create a
// company, open the Start Stripe Flow URL (the local stand-in authorize page),
// approve, follow the redirects back, and see the connection; then disconnect.
func TestMakeRunStripeFlow(t *testing.T) {
	l, base := startRunner(t)
	d := l.Demo

	res := testenv.Do(t, "POST", base+"/v1/companies", d.APIKey, map[string]any{"external_id": "cafe-42", "name": "Cafe 42"})
	if res.Status != 201 {
		t.Fatalf("create company: %d %s", res.Status, res.Body)
	}
	var co struct{ ID string }
	res.JSON(t, &co)
	res = testenv.Do(t, "POST", base+"/v1/companies/"+co.ID+"/stripe/connect", d.APIKey, map[string]any{"return_url": "http://localhost:8080/done"})
	if res.Status != 201 {
		t.Fatalf("start flow: %d %s", res.Status, res.Body)
	}
	var flow struct{ URL string }
	res.JSON(t, &flow)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The start link binds the flow to this browser (a cookie), then redirects to the authorize page.
	hop, err := browser.Get(flow.URL)
	if err != nil || hop.StatusCode != http.StatusFound {
		t.Fatalf("start link %s: %v %v", flow.URL, err, hop)
	}
	hop.Body.Close()
	flow.URL = hop.Header.Get("Location")
	if !strings.HasPrefix(flow.URL, base+standInPath+"?") {
		t.Fatalf("authorize URL %s is not the local stand-in", flow.URL)
	}
	page, err := browser.Get(flow.URL)
	if err != nil || page.StatusCode != 200 {
		t.Fatalf("stand-in page: %v %v", err, page)
	}
	page.Body.Close()
	u, _ := url.Parse(flow.URL)
	form := u.Query()
	form.Set("decision", "approve")
	form.Set("account_id", "acct_1Cafe42Local0001")
	approve, err := browser.PostForm(base+standInPath, form)
	if err != nil || approve.StatusCode != http.StatusFound {
		t.Fatalf("approve: %v %v", err, approve)
	}
	approve.Body.Close()
	callback := approve.Header.Get("Location")
	if !strings.HasPrefix(callback, base+"/integrations/stripe?") {
		t.Fatalf("stand-in redirected to %s", callback)
	}
	back, err := browser.Get(callback)
	if err != nil || back.StatusCode != http.StatusFound {
		t.Fatalf("callback: %v %v", err, back)
	}
	back.Body.Close()
	done, _ := url.Parse(back.Header.Get("Location"))
	if done.Host != "localhost:8080" || done.Query().Get("status") != "connected" || done.Query().Get("company_id") != co.ID {
		t.Fatalf("returned to %s", done)
	}
	res = testenv.Do(t, "GET", base+"/v1/companies/"+co.ID+"/connections", d.APIKey, nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), "acct_1Cafe42Local0001") || !strings.Contains(string(res.Body), `"oauth"`) {
		t.Fatalf("connection not visible: %d %s", res.Status, res.Body)
	}
	if res := testenv.Do(t, "DELETE", base+"/v1/companies/"+co.ID+"/stripe", d.APIKey, nil); res.Status/100 != 2 {
		t.Fatalf("disconnect: %d %s", res.Status, res.Body)
	}
	if res := testenv.Do(t, "DELETE", base+"/v1/companies/"+co.ID+"/stripe", d.APIKey, nil); res.Status != 404 {
		t.Fatalf("second disconnect: %d %s", res.Status, res.Body)
	}
}

// TestMakeRunVault: through the local runner, the demo company's Qualpay
// merchant (the spec-validating fake) takes a customer and a tokenised card.
func TestMakeRunVault(t *testing.T) {
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
	custs := srv.URL + "/v1/companies/" + d.CompanyID + "/qualpay/customers"
	res := testenv.Do(t, "POST", custs, d.APIKey, map[string]any{"first_name": "Jane", "last_name": "Baker"})
	if res.Status != 201 {
		t.Fatalf("create customer: %d %s", res.Status, res.Body)
	}
	var c struct {
		CustomerID string `json:"customer_id"`
	}
	res.JSON(t, &c)
	tok := testenv.Do(t, "POST", srv.URL+embeddedFieldsPath, "", map[string]any{"card_number": "4111111111111111", "exp_date": "1230"})
	var card struct {
		CardID string `json:"card_id"`
	}
	tok.JSON(t, &card)
	res = testenv.Do(t, "POST", custs+"/"+c.CustomerID+"/cards", d.APIKey, map[string]any{"card_id": card.CardID, "billing": map[string]any{"first_name": "Jane", "last_name": "Baker", "zip": "94402"}})
	if res.Status != 201 || strings.Contains(string(res.Body), "4111111111111111") {
		t.Fatalf("add card: %d %s", res.Status, res.Body)
	}
	if res := testenv.Do(t, "POST", custs, d.APIKey, map[string]any{"first_name": "4111111111111111", "last_name": "X"}); res.Status != 422 {
		t.Fatalf("raw PAN accepted: %d %s", res.Status, res.Body)
	}
}
