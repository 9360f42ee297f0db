package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/payrecon/payrecon/shared/app/embeddedfn"
	"github.com/payrecon/payrecon/shared/embed"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
)

// chromiumPath is Debian's chromium, which `make tools` installs when run as root.
const chromiumPath = "/usr/bin/chromium"

// TestEmbeddedUIInBrowser drives the Embedded UI in a real (headless) Chromium
// against the local runner with the worked example played in: the $3,890.00
// payout and its items, an exception resolved by a manual match, the connect
// flow through the local stand-in authorize page, and refused tokens.
// Screenshots of each screen at desktop and phone width go to .test-output/embedded/.
func TestEmbeddedUIInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack and chromium")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("browser tests skipped: " + chromiumPath + " is missing (run `make tools` as root to apt-get install chromium)")
	}
	stack, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	ctx := context.Background()
	l, err := buildLocal(ctx, stack, base, uniqueTable(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLocal()
	srv.Config.Handler = l.Handler
	srv.Start()
	defer srv.Close()
	d := l.Demo
	if _, err := playExample(ctx, l, base); err != nil {
		t.Fatal(err)
	}
	// The Stripe deposit is dated a month before the payout's arrival, so
	// reconciliation cannot pair them: an exception a person resolves.
	co := base + "/v1/companies/" + d.CompanyID
	res := testenv.Do(t, "POST", co+"/bank-transactions", d.APIKey, map[string]any{
		"added": []map[string]any{{"transaction_id": "plaid_dep_odd", "account_id": "acc_demo_checking", "amount": -3890.00,
			"iso_currency_code": "USD", "date": time.Now().UTC().AddDate(0, 0, -30).Format("2006-01-02"), "name": "STRIPE TRANSFER",
			"pending": false, "payment_channel": "other"}},
		"modified": []any{}, "removed": []any{}, "next_cursor": "c1", "has_more": false})
	if res.Status != 200 {
		t.Fatalf("bank feed: %d %s", res.Status, res.Body)
	}
	if res = testenv.Do(t, "POST", co+"/reconcile", d.APIKey, nil); res.Status != 200 {
		t.Fatalf("reconcile: %d %s", res.Status, res.Body)
	}

	out, err := screenshotDir()
	if err != nil {
		t.Fatal(err)
	}
	bctx, cancel := browser(t)
	defer cancel()
	do := func(t *testing.T, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(bctx, timeout)
		defer cancel()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(t *testing.T, sel string) string { return get(t, bctx, chromedp.Text(chromedp.CSS(sel))) }
	shots := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, v := range []struct {
				suffix string
				w, h   int64
				opts   []chromedp.EmulateViewportOption
			}{{"desktop", 1280, 900, nil}, {"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulatePortrait}}} {
				if _, err := chromedp.EmulateViewport(v.w, v.h, v.opts...)(ctx, tg); err != nil {
					return err
				}
				if _, err := chromedp.Sleep(100*time.Millisecond)(ctx, tg); err != nil {
					return err
				}
				png, err := chromedp.FullScreenshot(100)(ctx, tg)
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(out, name+"-"+v.suffix+".png"), png, 0o644); err != nil {
					return err
				}
			}
			_, err := chromedp.EmulateViewport(1280, 900)(ctx, tg)
			return err
		})
	}
	session := func(t *testing.T) string {
		t.Helper()
		res := testenv.Do(t, "POST", co+"/embed-sessions", d.APIKey, map[string]any{"components": []string{"connect", "payouts", "reconciliation"}})
		if res.Status != 201 {
			t.Fatalf("embed session: %d %s", res.Status, res.Body)
		}
		var s embed.Created
		res.JSON(t, &s)
		return s.URL
	}
	firstURL := session(t)

	t.Run("page loads with a fresh embed session", func(t *testing.T) {
		do(t, 20*time.Second, chromedp.Navigate(firstURL), chromedp.WaitVisible(chromedp.ID("tab-payouts")))
		loc := get(t, bctx, chromedp.Location())
		if company := text(t, ".company"); loc != base+embed.PagePath || company != "Demo Bakery" {
			t.Fatalf("landed on %s showing %q; want the bare page (token gone from the URL) for Demo Bakery", loc, company)
		}
	})

	t.Run("the $3,890.00 payout with its 5 items", func(t *testing.T) {
		row := "#payout-" + example.PayoutID
		do(t, 20*time.Second, chromedp.Click(chromedp.ID("tab-payouts")), chromedp.WaitVisible(chromedp.CSS(`#payouts[aria-busy="false"] `+row)))
		rowText := text(t, row)
		do(t, 20*time.Second, chromedp.Click(chromedp.CSS(row+" button")), chromedp.WaitVisible(chromedp.ID("payout-total")))
		total := text(t, "#payout-total")
		items := get(t, bctx, chromedp.Evaluate[int](`document.querySelectorAll("#payout-detail tr.item").length`))
		do(t, 20*time.Second, shots("payouts"))
		if !strings.Contains(rowText, "$3,890.00") || total != "$3,890.00" || items != 5 {
			t.Fatalf("row %q, total %q, %d items; want $3,890.00 with 5 items summing to it", rowText, total, items)
		}
	})

	t.Run("an exception resolved by a manual match", func(t *testing.T) {
		do(t, 20*time.Second, chromedp.Click(chromedp.ID("tab-reconciliation")), chromedp.WaitVisible(chromedp.CSS(`#exceptions[aria-busy="false"] .exception`)),
			chromedp.WaitVisible(chromedp.CSS(`#matches[aria-busy="false"]`)), shots("exception"))
		title := text(t, ".exception h3")
		do(t, 20*time.Second, chromedp.Click(chromedp.CSS(".exception button.primary")),
			chromedp.WaitVisible(chromedp.CSS(".match-form input[type=checkbox]")),
			chromedp.Click(chromedp.CSS(".match-form input[type=checkbox]")))
		sum := text(t, ".match-form .sum")
		do(t, 30*time.Second, shots("manual-match"), chromedp.Click(chromedp.CSS(".match-form button[type=submit]")),
			chromedp.WaitVisible(chromedp.ID("no-exceptions")), chromedp.WaitVisible(chromedp.CSS(".match")), shots("reconciliation"))
		matches := text(t, "#matches")
		if title != "A bank deposit has no payout behind it" || !strings.Contains(sum, "the amounts match") {
			t.Fatalf("exception %q, sum %q", title, sum)
		}
		if !strings.Contains(matches, "Matched by hand") {
			t.Fatalf("after the match: matches %q", matches)
		}
	})

	t.Run("connect Stripe through the stand-in authorize page", func(t *testing.T) {
		do(t, 30*time.Second, chromedp.Click(chromedp.ID("tab-connect")),
			chromedp.WaitVisible(chromedp.CSS(`#connections[aria-busy="false"] #conn-stripe button.danger`)),
			chromedp.Click(chromedp.CSS("#conn-stripe button.danger")), // Disconnect Stripe…
			chromedp.Click(chromedp.Search(`//button[text()="Yes, disconnect Stripe"]`)),
			chromedp.WaitVisible(chromedp.Search(`//button[text()="Connect Stripe"]`)), shots("connect"),
			chromedp.Click(chromedp.Search(`//button[text()="Connect Stripe"]`)),
			chromedp.WaitVisible(chromedp.CSS(`button[value=approve]`)), // the LOCAL STAND-IN page
			chromedp.Click(chromedp.CSS(`button[value=approve]`)),
			chromedp.WaitVisible(chromedp.CSS("#conn-stripe .badge.ok")), shots("connected"))
		if status := text(t, "#conn-stripe .badge"); status != "Connected" {
			t.Fatalf("stripe status %q", status)
		}
	})

	t.Run("expired, used or foreign tokens get the error page and no data", func(t *testing.T) {
		old := embeddedfn.Service(l.Env)
		old.Now = func() time.Time { return time.Now().Add(-embed.TokenTTL - time.Minute) }
		expired, err := old.CreateSession(ctx, d.PartnerID, d.CompanyID, embed.CreateInput{Components: []string{"payouts"}}, base)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, url string }{
			{"expired", expired.URL}, {"used", firstURL},
			{"foreign", base + embed.PagePath + "?token=emb_" + strings.Repeat("x", 43)},
		} {
			// A fresh browser context: no session cookie from the steps above.
			c, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
			err := chromedp.Do(c, chromedp.Navigate(tc.url), chromedp.WaitVisible(chromedp.CSS("h1")))
			var h1, body string
			if err == nil {
				h1, err = chromedp.Run(c, chromedp.Text(chromedp.CSS("h1")))
			}
			if err == nil {
				body, err = chromedp.Run(c, chromedp.Text(chromedp.CSS("body")))
			}
			if err == nil && tc.name == "expired" {
				err = chromedp.Do(c, shots("error"))
			}
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if h1 != "This link has expired or is not valid" || strings.Contains(body, "Demo Bakery") || strings.Contains(body, "3,890") {
				t.Errorf("%s token: h1 %q, body %q", tc.name, h1, body)
			}
		}
	})
}

// get runs one action that answers a value, bounded in time.
func get[T any](t *testing.T, bctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(bctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// browser starts headless Chromium as this machine allows (root: no sandbox),
// with a fresh profile and nothing reaching out to the network by itself.
func browser(t *testing.T) (context.Context, context.CancelFunc) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.Headless, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) { t.Logf("chromedp: "+format, args...) }))
	if err := chromedp.Do(bctx); err != nil {
		cancelB()
		cancelA()
		t.Skipf("browser tests skipped: chromium did not start: %v", err)
	}
	return bctx, func() { cancelB(); cancelA() }
}

// screenshotDir is the gitignored test output folder for screenshots.
func screenshotDir() (string, error) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, ".test-output", "embedded")
	return dir, os.MkdirAll(dir, 0o755)
}
