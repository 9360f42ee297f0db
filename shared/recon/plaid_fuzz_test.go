package recon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/money"
)

// FuzzPlaidPage: any bytes a client posts as a /transactions/sync page either
// decode into a page that normalises, or fail with an error; never a panic.
// An accepted page's money-in lines are exactly the negated Plaid amounts.
func FuzzPlaidPage(f *testing.F) {
	f.Add([]byte(`{"added":[{"transaction_id":"t1","account_id":"a","amount":-3890.00,"iso_currency_code":"USD","date":"2026-11-23","name":"STRIPE","pending":false}],"modified":[],"removed":[{"transaction_id":"t0"}],"next_cursor":"c","has_more":false}`))
	f.Add([]byte(`{"added":[{"transaction_id":"t1","account_id":"a","amount":0.30000000000000004,"iso_currency_code":"USD","date":"2026-02-30"}]}`))
	f.Add([]byte(`{"added":[{"transaction_id":"t2","account_id":"a","amount":1e400,"iso_currency_code":"JPY","date":"2026-11-23","pending":true,"pending_transaction_id":"t2"}]}`))
	if ev, err := os.ReadFile(filepath.Join("..", "..", "events", "bank-feed-sync-page.json")); err == nil {
		var e struct {
			Body string `json:"body"`
		}
		if json.Unmarshal(ev, &e) == nil {
			f.Add([]byte(e.Body))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		var p SyncPage
		if err := dec.Decode(&p); err != nil {
			return
		}
		ch, err := NormalizePage(p)
		if err != nil {
			if len(ch.Upserts) != 0 {
				t.Fatalf("a bad page returned lines: %v", err)
			}
			return
		}
		all := append(append([]PlaidTransaction(nil), p.Added...), p.Modified...)
		if len(ch.Upserts) != len(all) {
			t.Fatalf("%d lines from %d transactions", len(ch.Upserts), len(all))
		}
		for i, l := range ch.Upserts {
			plaid, err := money.ParseMinor(all[i].Amount.String(), l.Currency)
			if err != nil || l.Amount != -plaid {
				t.Fatalf("line %s: amount %d from Plaid %s (%v)", l.ID, l.Amount, all[i].Amount, err)
			}
		}
	})
}
