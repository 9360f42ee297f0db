package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/app/reconfn"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// qualpayExample is the Qualpay worked example, with no webhook at all: four
// invoices; four card sales in two batches on one day with $29.50 of fees,
// deposited as one $1,970.50 ACH two days later (rows on the spec-checked
// Qualpay fake); a schedule tick pulls and itemises the deposit (purchase_id
// pays the invoices); a Plaid page brings the bank's credit; the next tick
// reconciles it.
func qualpayExample(ctx context.Context, l *local, base string) (string, error) {
	hc := &http.Client{Timeout: 30 * time.Second}
	co := base + "/v1/companies/" + l.Demo.CompanyID
	for i, amt := range example.QualpaySales {
		if _, err := call(ctx, hc, "POST", co+"/invoices", l.Demo.APIKey, map[string]any{
			"external_id": "qp-demo-" + strconv.Itoa(i+1), "number": example.QualpayInvoiceNumber(i), "customer": "Cafe " + strconv.Itoa(i+1),
			"amount": amt, "currency": "usd", "issued_at": "2026-11-01", "due_at": "2026-11-30"}); err != nil {
			return "", fmt.Errorf("invoice: %w", err)
		}
	}
	mid, _ := strconv.ParseInt(demo.QualpayMerchantID, 10, 64)
	dep, txns, sets := example.QualpayWorkedExample(mid, l.Env.Now().UTC())
	l.Qualpay.SeedDeposits(dep)
	l.Qualpay.SeedTransactions(txns...)
	l.Qualpay.SeedSettlements(sets...)

	tick := reconfn.ReconcileEntry(l.Env, "") // the EventBridge schedule, companies run inline
	schedule := json.RawMessage(`{"source":"payrecon.schedule"}`)
	if _, err := tick(ctx, schedule); err != nil {
		return "", fmt.Errorf("schedule tick: %w", err)
	}
	workerfn.LocalQueue(l.Env).Wait() // the pulls run on the in-process work queue
	id := webhooks.DepositPayoutID(demo.QualpayMerchantID, dep.RecID)
	p, err := stores.Payouts(l.Env).Get(ctx, l.Demo.PartnerID, l.Demo.CompanyID, id)
	if err != nil {
		return "", fmt.Errorf("the scheduled pull did not record the deposit: %w", err)
	}
	items, err := stores.Payouts(l.Env).Items(ctx, l.Demo.PartnerID, l.Demo.CompanyID, id)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Qualpay worked example (no webhook): the scheduled pull itemised deposit %s %s %s (%s) posted %s by reference %s:\n",
		p.ID, money.Format(p.Amount, p.Currency), p.Currency, p.ItemisationStatus, p.ArrivalDate, p.Reference)
	for _, it := range items {
		fmt.Fprintf(&b, "  %-8s %-34s gross %9s  fee %6s  net %9s  %s\n", it.Type, it.SourceID, money.Format(it.Amount, it.Currency),
			money.Format(it.Fee, it.Currency), money.Format(it.Net, it.Currency), it.InvoiceID)
	}

	page := map[string]any{
		"added": []map[string]any{{
			"transaction_id": "plaid_demo_dep_1970", "account_id": "acc_demo_checking", "amount": json.Number("-1970.50"),
			"iso_currency_code": "USD", "date": p.ArrivalDate, "name": "QUALPAY DEP", "original_description": "QUALPAY DEP DEMO BAKERY",
			"pending": false, "payment_channel": "other",
		}},
		"modified": []any{}, "removed": []any{}, "next_cursor": "demo-2", "has_more": false,
	}
	if _, err := call(ctx, hc, "POST", co+"/bank-transactions", l.Demo.APIKey, page); err != nil {
		return "", fmt.Errorf("bank feed: %w", err)
	}
	if _, err := tick(ctx, schedule); err != nil {
		return "", fmt.Errorf("schedule tick: %w", err)
	}
	raw, err := call(ctx, hc, "GET", co+"/matches?limit=100", l.Demo.APIKey, nil)
	if err != nil {
		return "", fmt.Errorf("matches: %w", err)
	}
	var ms struct {
		Data []struct {
			ID           string   `json:"id"`
			PayoutIDs    []string `json:"payout_ids"`
			InvoiceCount int      `json:"invoice_count"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &ms); err != nil {
		return "", fmt.Errorf("matches: %w", err)
	}
	matched, reconciled := 0, 0
	var debits, credits int64
	perAccount := map[string]int64{}
	for _, m := range ms.Data {
		if !slices.Contains(m.PayoutIDs, id) {
			continue
		}
		matched++
		reconciled += m.InvoiceCount
		// A match's entries are listed on their own route, part by part.
		for cursor := "first"; cursor != ""; {
			q := co + "/journal-entries?limit=100&match_id=" + url.QueryEscape(m.ID)
			if cursor != "first" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			raw, err := call(ctx, hc, "GET", q, l.Demo.APIKey, nil)
			if err != nil {
				return "", fmt.Errorf("journal entries: %w", err)
			}
			var page struct {
				Data []struct {
					Kind  string `json:"kind"`
					Lines []struct {
						Account       string
						Debit, Credit int64
					} `json:"lines"`
				} `json:"data"`
				NextCursor string `json:"next_cursor"`
			}
			if err := json.Unmarshal(raw, &page); err != nil {
				return "", fmt.Errorf("journal entries: %w", err)
			}
			for _, e := range page.Data {
				for _, ln := range e.Lines {
					debits, credits = debits+ln.Debit, credits+ln.Credit
					perAccount[ln.Account] += ln.Debit - ln.Credit
					fmt.Fprintf(&b, "  %-10s %-28s debit %10s  credit %10s\n", e.Kind, ln.Account, money.Format(ln.Debit, "USD"), money.Format(ln.Credit, "USD"))
				}
			}
			cursor = page.NextCursor
		}
	}
	fmt.Fprintf(&b, "Bank deposit 1970.50 USD on %s reconciled by the schedule: %d match, %d invoices reconciled.\n", p.ArrivalDate, matched, reconciled)
	fmt.Fprintf(&b, "Totals: debits %s = credits %s. Merchant fees %s, Qualpay clearing nets to %s.\n",
		money.Format(debits, "USD"), money.Format(credits, "USD"), money.Format(perAccount["Merchant Fees"], "USD"),
		money.Format(perAccount["Qualpay Clearing"], "USD"))
	if debits != credits {
		return b.String(), fmt.Errorf("journal does not balance: %d != %d", debits, credits)
	}
	return b.String(), nil
}
