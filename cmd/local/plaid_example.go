package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/payrecon/payrecon/shared/app/plaidfn"
	"github.com/payrecon/payrecon/shared/local/plaidfake"
)

// Demo Plaid keys: the local fake accepts exactly these.
const (
	plaidDemoClientID = "demo-plaid-client"
	plaidDemoSecret   = "demo-plaid-sandbox-secret"
)

type logSink struct{ log *slog.Logger }

func (s logSink) Errorf(format string, args ...any) {
	s.log.Warn("plaid fake: contract violation", "detail", fmt.Sprintf(format, args...))
}

// startPlaidFake serves the spec-checked Plaid fake on loopback.
func startPlaidFake(log *slog.Logger) (string, *plaidfake.Fake, error) {
	f, err := plaidfake.New(logSink{log}, plaidDemoClientID, plaidDemoSecret)
	if err != nil {
		return "", nil, err
	}
	u, err := serveLoopback(f)
	return u, f, err
}

// plaidDeposit brings the worked example's $3,890.00 deposit in through Plaid,
// as a partner's integration would, with no push: configure Plaid, create a
// link token, let the user finish Link at the fake, exchange the public token,
// then Plaid (the fake) posts a signed SYNC_UPDATES_AVAILABLE and the sync
// pulls the pages and reconciles. It returns how many sync pages were read.
func plaidDeposit(ctx context.Context, l *local, base, date string) (int, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	key := l.Demo.APIKey
	if _, err := call(ctx, hc, "PUT", base+"/v1/integrations/plaid", key, map[string]any{
		"client_id": plaidDemoClientID, "secret": plaidDemoSecret, "environment": "sandbox"}); err != nil {
		return 0, fmt.Errorf("configure plaid: %w", err)
	}
	co := base + "/v1/companies/" + l.Demo.CompanyID
	raw, err := call(ctx, hc, "POST", co+"/plaid/link-token", key, map[string]any{"client_name": "Demo Books"})
	if err != nil {
		return 0, fmt.Errorf("link token: %w", err)
	}
	var lt struct {
		LinkToken string `json:"link_token"`
	}
	_ = json.Unmarshal(raw, &lt)
	pt, err := l.Plaid.CompleteLink(lt.LinkToken, "ins_109508", "acc_demo_checking")
	if err != nil {
		return 0, err
	}
	raw, err = call(ctx, hc, "POST", co+"/plaid/items", key, map[string]any{"public_token": pt})
	if err != nil {
		return 0, fmt.Errorf("exchange: %w", err)
	}
	var it struct {
		ItemID string `json:"item_id"`
	}
	_ = json.Unmarshal(raw, &it)
	q := plaidfn.LocalQueue(l.Env)
	q.Wait() // the first sync (nothing yet)
	before := len(l.Plaid.Calls())
	l.Plaid.Add(it.ItemID, plaidfake.Txn{ID: "plaid_demo_dep_3890", AccountID: "acc_demo_checking", Amount: "-3890.00", Date: date,
		Name: "STRIPE TRANSFER", Merchant: "Stripe"})
	body, jwt := l.Plaid.Webhook(l.Plaid.SyncUpdatesAvailable(it.ItemID))
	hook := l.Plaid.WebhookURL(it.ItemID) // PUBLIC_BASE_URL/plaid?partner_id=…
	u, err := url.Parse(hook)
	if err != nil {
		return 0, err
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+u.RequestURI(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Plaid-Verification", jwt)
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("plaid webhook: %d %s", res.StatusCode, msg)
	}
	q.Wait()
	pages := 0
	for _, c := range l.Plaid.Calls()[before:] {
		if c == "/transactions/sync" {
			pages++
		}
	}
	return pages, nil
}
