package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/local/testenv"
)

// TestMakeRunStripeOnboarding: "Create a Stripe account" over real HTTP on the
// local stack (stripe-mock creates the Express account and its link): the
// connection is pending, refresh makes a new link and its state is single-use,
// Finish on the stand-in delivers a signed account.updated that activates it.
func TestMakeRunStripeOnboarding(t *testing.T) {
	l, base := startRunner(t)
	d := l.Demo
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res := testenv.Do(t, "POST", base+"/v1/companies", d.APIKey, map[string]any{"external_id": "new-shop", "name": "New Shop"})
	var co struct{ ID string }
	res.JSON(t, &co)
	onboard := base + "/v1/companies/" + co.ID + "/stripe/onboarding"

	t.Run("bad return_url is 422 and creates nothing", func(t *testing.T) {
		res := testenv.Do(t, "POST", onboard, d.APIKey, map[string]any{"return_url": "http://evil.example/x"})
		if res.Status != 422 || !strings.Contains(string(res.Body), "return_url") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("another partner's company is 404", func(t *testing.T) {
		other := testenv.Do(t, "POST", base+"/v1/companies/"+d.CompanyID+"/stripe/onboarding", "", map[string]any{"return_url": "http://localhost:8080/done"})
		if other.Status != 401 {
			t.Fatalf("no key: %d", other.Status)
		}
		theirs, _, err := l.Env.Companies.Create(context.Background(), "ptr_someoneelse", "their-shop", "Their Shop")
		if err != nil {
			t.Fatal(err)
		}
		res := testenv.Do(t, "POST", base+"/v1/companies/"+theirs.ID+"/stripe/onboarding", d.APIKey, map[string]any{"return_url": "http://localhost:8080/done"})
		if res.Status != 404 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	if res := testenv.Do(t, "GET", base+"/v1/companies/"+co.ID+"/connections", d.APIKey, nil); !strings.Contains(string(res.Body), `"data":[]`) {
		t.Fatalf("a refused onboarding left a connection: %s", res.Body)
	}

	res = testenv.Do(t, "POST", onboard, d.APIKey, map[string]any{"return_url": "http://localhost:8080/done"})
	if res.Status != 201 {
		t.Fatalf("onboarding: %d %s", res.Status, res.Body)
	}
	var ob struct {
		URL        string
		Connection struct {
			AccountID string `json:"account_id"`
			Status    string
		}
	}
	res.JSON(t, &ob)
	acct := ob.Connection.AccountID
	if ob.Connection.Status != "pending" || !strings.HasPrefix(acct, "acct_") || !strings.HasPrefix(ob.URL, base+onboardingStandInPath+"?") {
		t.Fatalf("onboarding answer: %s", res.Body)
	}
	conns := func() string {
		return string(testenv.Do(t, "GET", base+"/v1/companies/"+co.ID+"/connections", d.APIKey, nil).Body)
	}
	if c := conns(); !strings.Contains(c, `"status":"pending"`) || !strings.Contains(c, `"onboarding"`) {
		t.Fatalf("pending connection not stored: %s", c)
	}
	// The Embedded UI's Connect component shows it as pending, not connected.
	res = testenv.Do(t, "POST", base+"/v1/companies/"+co.ID+"/embed-sessions", d.APIKey, map[string]any{"components": []string{"connect"}})
	var sess struct{ URL string }
	res.JSON(t, &sess)
	jar, _ := cookiejar.New(nil)
	page := &http.Client{Jar: jar, CheckRedirect: browser.CheckRedirect}
	embedStripe := func() string {
		r, err := page.Get(base + "/embed/api/connections")
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("embed connections: %v %v", err, r)
		}
		defer r.Body.Close()
		var out struct {
			Data []struct{ Provider, Status string }
		}
		_ = json.NewDecoder(r.Body).Decode(&out)
		return out.Data[0].Provider + " " + out.Data[0].Status
	}
	if r, err := page.Get(strings.Replace(sess.URL, "http://127.0.0.1:3000", base, 1)); err != nil || r.StatusCode != http.StatusSeeOther {
		t.Fatalf("embed session %s: %v %v", sess.URL, err, r)
	}
	if got := embedStripe(); got != "stripe pending" {
		t.Fatalf("embedded connect shows %q", got)
	}
	t.Run("again while pending: a new link for the same account", func(t *testing.T) {
		res := testenv.Do(t, "POST", onboard, d.APIKey, map[string]any{"return_url": "http://localhost:8080/done"})
		var again struct {
			URL        string
			Connection struct {
				AccountID string `json:"account_id"`
			}
		}
		res.JSON(t, &again)
		if res.Status != 201 || again.Connection.AccountID != acct || again.URL == ob.URL {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if res := testenv.Do(t, "POST", base+"/v1/companies/"+co.ID+"/stripe/connect", d.APIKey, map[string]any{"return_url": "http://localhost:8080/done"}); res.Status != 409 {
			t.Fatalf("Start Stripe Flow beside a pending account: %d %s", res.Status, res.Body)
		}
	})
	link, _ := url.Parse(ob.URL)
	ret := link.Query().Get("return_url")
	refresh := strings.Replace(ret, "/onboarding/return", "/onboarding/refresh", 1)

	t.Run("refresh gives a new link; the old state is single-use", func(t *testing.T) {
		r, err := browser.Get(refresh)
		if err != nil || r.StatusCode != http.StatusSeeOther {
			t.Fatalf("refresh: %v %v", err, r)
		}
		r.Body.Close()
		next := r.Header.Get("Location")
		if !strings.HasPrefix(next, base+onboardingStandInPath+"?") || next == ob.URL {
			t.Fatalf("refresh redirected to %s", next)
		}
		for _, old := range []string{refresh, ret} {
			again, err := browser.Get(old)
			if err != nil || again.StatusCode != http.StatusBadRequest {
				t.Fatalf("used state accepted again at %s: %v %v", old, err, again)
			}
			again.Body.Close()
		}
		ob.URL = next
	})

	t.Run("Finish delivers a signed account.updated that activates it", func(t *testing.T) {
		link, _ := url.Parse(ob.URL)
		page, err := browser.Get(ob.URL)
		if err != nil || page.StatusCode != 200 {
			t.Fatalf("stand-in page: %v %v", err, page)
		}
		page.Body.Close()
		fin, err := browser.PostForm(base+onboardingStandInPath, link.Query())
		if err != nil || fin.StatusCode != http.StatusSeeOther {
			t.Fatalf("finish: %v %v", err, fin)
		}
		fin.Body.Close()
		back, err := browser.Get(fin.Header.Get("Location"))
		if err != nil || back.StatusCode != http.StatusSeeOther {
			t.Fatalf("return: %v %v", err, back)
		}
		back.Body.Close()
		done, _ := url.Parse(back.Header.Get("Location"))
		if done.Host != "localhost:8080" || done.Query().Get("status") != "connected" || done.Query().Get("company_id") != co.ID {
			t.Fatalf("returned to %s", done)
		}
		if c := conns(); strings.Contains(c, `"pending"`) || !strings.Contains(c, acct) {
			t.Fatalf("connection not active: %s", c)
		}
		if got := embedStripe(); got != "stripe connected" {
			t.Fatalf("embedded connect shows %q", got)
		}
	})
}
