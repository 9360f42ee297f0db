package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
)

// playExample plays the published worked example into the demo company through
// the running API (signed Stripe webhooks, the same path a real delivery takes):
// four $1,000.00 invoices paid by card with $25.00 fees, a $10.00 Stripe Climate
// contribution and one $3,890.00 payout, itemised by the worker.
func playExample(ctx context.Context, l *local, base string) (string, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	ids, err := example.Run(ctx, hc, base, l.Demo.APIKey, l.Demo.CompanyID, demo.StripeAccountID, demo.StripeWebhookSecret, l.Balance, time.Now().UTC())
	if err != nil {
		return "", err
	}
	workerfn.LocalQueue(l.Env).Wait() // itemisation runs on the in-process queue
	p, err := stores.Payouts(l.Env).Get(ctx, l.Demo.PartnerID, l.Demo.CompanyID, example.PayoutID)
	if err != nil {
		return "", err
	}
	items, err := stores.Payouts(l.Env).Items(ctx, l.Demo.PartnerID, l.Demo.CompanyID, example.PayoutID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Worked example played into the demo company: invoices %s paid;\n", strings.Join(ids, ", "))
	fmt.Fprintf(&b, "payout %s %s %s (%s), %d items summing to %s:\n", p.ID, money.Format(p.Amount, p.Currency), p.Currency, p.ItemisationStatus, len(items), money.Format(payouts.SumNet(items), p.Currency))
	for _, it := range items {
		fmt.Fprintf(&b, "  %-16s gross %10s  fee %8s  net %10s\n", it.Type, money.Format(it.Amount, it.Currency), money.Format(it.Fee, it.Currency), money.Format(it.Net, it.Currency))
	}
	return b.String(), nil
}

// reconcileExample brings the $3,890.00 deposit in through Plaid (link, token
// exchange, a signed SYNC_UPDATES_AVAILABLE, the sync pulls and reconciles; no
// push) and summarises the result: the match, the reconciled invoices, the
// expenses and whether the books balance.
func reconcileExample(ctx context.Context, l *local, base string) (string, error) {
	p, err := stores.Payouts(l.Env).Get(ctx, l.Demo.PartnerID, l.Demo.CompanyID, example.PayoutID)
	if err != nil {
		return "", err
	}
	co := base + "/v1/companies/" + l.Demo.CompanyID
	pages, err := plaidDeposit(ctx, l, base, p.ArrivalDate)
	if err != nil {
		return "", fmt.Errorf("plaid: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	raw, err := call(ctx, hc, "GET", co+"/matches", l.Demo.APIKey, nil)
	if err != nil {
		return "", fmt.Errorf("matches: %w", err)
	}
	var sum struct {
		Data []json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(raw, &sum)
	raw, err = call(ctx, hc, "GET", co+"/journal-entries?limit=100", l.Demo.APIKey, nil)
	if err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	var je struct {
		Data []struct {
			Kind  string `json:"kind"`
			Memo  string `json:"memo"`
			Lines []struct {
				Account       string
				Debit, Credit int64
			} `json:"lines"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &je); err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	raw, err = call(ctx, hc, "GET", co+"/invoices?status=reconciled", l.Demo.APIKey, nil)
	if err != nil {
		return "", fmt.Errorf("invoices: %w", err)
	}
	var inv struct {
		Data []struct {
			Number string `json:"number"`
			Status string `json:"status"`
		} `json:"data"`
	}
	_ = json.Unmarshal(raw, &inv)

	var b strings.Builder
	fmt.Fprintf(&b, "Bank deposit 3890.00 USD on %s arrived through Plaid (link token, public-token exchange, signed SYNC_UPDATES_AVAILABLE, %d /transactions/sync page; no push) and reconciled: %d match, %d invoices reconciled.\nJournal entries:\n", p.ArrivalDate, pages, len(sum.Data), len(inv.Data))
	var debits, credits int64
	perAccount := map[string]int64{}
	for _, e := range je.Data {
		var d, c int64
		for _, ln := range e.Lines {
			d, c = d+ln.Debit, c+ln.Credit
			perAccount[ln.Account] += ln.Debit - ln.Credit
			fmt.Fprintf(&b, "  %-10s %-28s debit %10s  credit %10s\n", e.Kind, ln.Account, money.Format(ln.Debit, "USD"), money.Format(ln.Credit, "USD"))
		}
		if d != c {
			return "", fmt.Errorf("entry %q does not balance: %d != %d", e.Memo, d, c)
		}
		debits, credits = debits+d, credits+c
	}
	fmt.Fprintf(&b, "Totals: debits %s = credits %s. Merchant fees %s, climate %s, clearing nets to %s.\n",
		money.Format(debits, "USD"), money.Format(credits, "USD"), money.Format(perAccount["Merchant Fees"], "USD"),
		money.Format(perAccount["Climate Contributions"], "USD"), money.Format(perAccount["Stripe Clearing"], "USD"))
	return b.String(), nil
}

// call sends an authenticated JSON request and returns the body of a 2xx answer.
func call(ctx context.Context, hc *http.Client, method, u, key string, body any) ([]byte, error) {
	var rdr io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rdr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %d %s", method, u, res.StatusCode, raw)
	}
	return raw, nil
}

// runDemo is `make demo`: the local stack, the worked example through signed
// webhooks, a Plaid page with the deposit, a reconcile run, the results; then exit.
func runDemo(ctx context.Context, out io.Writer, getenv func(string) string) error {
	stack, err := localstack.Start(getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	l, err := buildLocal(ctx, stack, base, getenv)
	if err != nil {
		ln.Close()
		return err
	}
	defer closeLocal()
	srv := newServer(l.Handler)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	notes, err := startNotifications(ctx, l, base)
	if err != nil {
		return fmt.Errorf("webhook receiver: %w", err)
	}
	played, err := playExample(ctx, l, base)
	if err != nil {
		return fmt.Errorf("worked example: %w", err)
	}
	rec, err := reconcileExample(ctx, l, base)
	if err != nil {
		return err
	}
	qp, err := qualpayExample(ctx, l, base)
	if err != nil {
		return fmt.Errorf("qualpay worked example: %w", err)
	}
	got, err := notes.settle(ctx, 20*time.Second)
	if err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	fmt.Fprintf(out, "%s\n%s\n%s\n%s", played, rec, qp, notes.summary(got))
	return nil
}
