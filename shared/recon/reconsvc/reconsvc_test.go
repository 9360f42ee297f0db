package reconsvc_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/payrecon/payrecon/shared/app/reconfn"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is one partner and company on a fresh table.
type world struct {
	t       *testing.T
	env     *testenv.Env
	pid     string
	key     string
	cid     string
	payouts *payouts.Store
	inv     *invoices.Store
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env := testenv.New(t)
	pid, key := env.Partner("Acme Books")
	co, _, err := env.Companies.Create(context.Background(), pid, "bakery", "Bakery")
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, env: env, pid: pid, key: key, cid: co.ID, payouts: stores.Payouts(env.Env), inv: stores.Invoices(env.Env)}
}

// service builds a reconciliation service on the world's table with its own
// clock and, optionally, a counting DynamoDB client.
func (w *world) service(now time.Time, api store.API) *reconsvc.Service {
	s := reconfn.Service(w.env.Env)
	if api != nil {
		s.Store = store.New(api, w.env.Store.Table)
	}
	s.Now = func() time.Time { return now }
	return s
}

// payout records a paid, itemised Stripe payout arriving on arrival.
func (w *world) payout(id string, arrival time.Time, items ...payouts.Item) payouts.Payout {
	w.t.Helper()
	ctx := context.Background()
	p := payouts.Payout{PartnerID: w.pid, CompanyID: w.cid, ID: id, Provider: payouts.Stripe, AccountID: "acct_demo",
		Amount: payouts.SumNet(items), Currency: "USD", Status: payouts.StatusPaid, Automatic: true,
		ArrivalDate: arrival.Format(time.DateOnly), Descriptor: "BAKERY ONLINE", UpdatedAt: time.Now().UTC()}
	if err := w.payouts.Upsert(ctx, p); err != nil {
		w.t.Fatal(err)
	}
	if st, err := w.payouts.SetItems(ctx, p, items); err != nil || st != payouts.ItemisationComplete {
		w.t.Fatalf("items: %s %v", st, err)
	}
	p.ItemisationStatus = payouts.ItemisationComplete
	return p
}

func charge(src string, amount, fee int64, invoice string) payouts.Item {
	return payouts.Item{SourceID: src, Type: payouts.ItemCharge, Amount: amount, Fee: fee, Net: amount - fee, Currency: "USD", InvoiceID: invoice}
}

// paidInvoice creates an invoice and pays it in full with payment paymentID
// (the ID the payout item names), as a payment event would.
func (w *world) paidInvoice(ext string, amount int64, paymentID string) string {
	w.t.Helper()
	ctx := context.Background()
	inv, _, err := w.inv.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: ext, Number: ext, Customer: "c", Amount: amount, Currency: "USD",
		IssuedAt: "2026-01-01", DueAt: "2026-02-01"})
	if err != nil {
		w.t.Fatal(err)
	}
	tx, _, err := w.inv.ApplyPayment(ctx, inv, invoices.Received{PaymentID: paymentID, State: invoices.PaymentSucceeded, Amount: amount, Currency: "usd"})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.inv.DB.Transact(ctx, tx); err != nil {
		w.t.Fatal(err)
	}
	return inv.ID
}

// plaid renders a Plaid transaction; amount is Plaid's sign (deposit negative).
func plaid(id, amount string, date time.Time, name string) map[string]any {
	return map[string]any{"transaction_id": id, "account_id": "acc_checking", "amount": json.Number(amount),
		"iso_currency_code": "USD", "date": date.Format(time.DateOnly), "name": name, "pending": false,
		"merchant_name": nil, "pending_transaction_id": nil, "payment_channel": "other"}
}

func page(added []map[string]any, removed ...string) map[string]any {
	rm := []map[string]any{}
	for _, id := range removed {
		rm = append(rm, map[string]any{"transaction_id": id})
	}
	if added == nil {
		added = []map[string]any{}
	}
	return map[string]any{"added": added, "modified": []any{}, "removed": rm, "next_cursor": "cur-1", "has_more": false,
		"accounts": []any{map[string]any{"account_id": "acc_checking", "name": "Checking", "mask": "0000",
			"balances": map[string]any{"iso_currency_code": "USD"}}}}
}

func (w *world) do(srvURL, method, path string, body any, out any) testenv.Response {
	w.t.Helper()
	res := testenv.Do(w.t, method, srvURL+"/v1/companies/"+w.cid+path, w.key, body)
	if out != nil && res.Status < 300 {
		res.JSON(w.t, out)
	}
	return res
}

// journal reads a match's entries through the API, page by page, joining the
// parts of long entries.
func (w *world) journal(srvURL, matchID string) []recon.Entry {
	w.t.Helper()
	return readJournal(w.t, srvURL+"/v1/companies/"+w.cid, w.key, "match_id="+matchID)
}

// readJournal pages through base/journal-entries?query, joining entry parts.
func readJournal(tb testing.TB, base, key, query string) []recon.Entry {
	tb.Helper()
	var out []recon.Entry
	cursor := ""
	for {
		var pg reconsvc.Page[reconsvc.JournalEntry]
		res := testenv.Do(tb, "GET", base+"/journal-entries?limit=100&"+query+"&cursor="+cursor, key, nil)
		if res.Status != 200 {
			tb.Fatalf("journal %s: %d %s", query, res.Status, res.Body)
		}
		res.JSON(tb, &pg)
		for _, je := range pg.Data {
			if je.Part == 1 {
				out = append(out, je.Entry)
			} else {
				out[len(out)-1].Lines = append(out[len(out)-1].Lines, je.Lines...)
			}
		}
		if cursor = pg.NextCursor; cursor == "" {
			return out
		}
	}
}

// TestWorkedExampleEndToEnd: the published example through the HTTP API: four
// $1,000 invoices paid with $25 fees, a $10 climate contribution, one $3,890
// payout, a Plaid page with the -3890.00 deposit; reconcile; the match, four
// reconciled invoices, $100 fees, $10 climate, balanced entries; then a second
// run changes nothing, unmatching reverses, and a new run matches again.
func TestWorkedExampleEndToEnd(t *testing.T) {
	w := newWorld(t)
	srv := w.env.Server()
	today := time.Now().UTC()
	var items []payouts.Item
	var invs []string
	for i := 1; i <= 4; i++ {
		id := w.paidInvoice(fmt.Sprintf("INV-%d", i), 100000, fmt.Sprintf("txn_ch%d", i))
		invs = append(invs, id)
		items = append(items, charge(fmt.Sprintf("txn_ch%d", i), 100000, 2500, id))
	}
	items = append(items, payouts.Item{SourceID: "txn_climate", Type: payouts.ItemClimate, Amount: -1000, Net: -1000, Currency: "USD"})
	w.payout("po_demo", today, items...)

	var fed reconsvc.FeedResult
	if res := w.do(srv.URL, "POST", "/bank-transactions", page([]map[string]any{plaid("plaid_dep1", "-3890.00", today, "STRIPE TRANSFER")}), &fed); res.Status != 200 || fed.Added != 1 {
		t.Fatalf("feed: %d %s %+v", res.Status, res.Body, fed)
	}
	var sum reconsvc.Summary
	run := w.do(srv.URL, "POST", "/reconcile", nil, &sum)
	if run.Status != 200 || sum.Matched != 1 {
		t.Fatalf("reconcile: %d %s", run.Status, run.Body)
	}
	var matches reconsvc.Page[reconsvc.Match]
	w.do(srv.URL, "GET", "/matches", nil, &matches)
	if len(matches.Data) != 1 || matches.Data[0].PayoutIDs[0] != "po_demo" || matches.Data[0].Amount != 389000 {
		t.Fatalf("matches: %+v", matches)
	}
	// The match and the run are announced with the writes that made them.
	st := w.env.Store
	getMatch := w.do(srv.URL, "GET", "/matches/"+matches.Data[0].ID, nil, nil)
	outboxtest.One(t, st, w.pid, w.cid, outbox.MatchCreated, matches.Data[0].ID, getMatch.Body)
	outboxtest.One(t, st, w.pid, w.cid, outbox.ReconciliationCompleted, w.cid, run.Body)
	// A payout's match comes from its own view (one batch read per page of
	// payouts, whatever the history): the Embedded UI's payouts list uses it.
	svc := w.service(time.Now(), nil)
	payoutMatches := func() map[string]string {
		t.Helper()
		got, err := svc.PayoutMatches(context.Background(), w.pid, w.cid, []string{"po_demo", "po_none", "po_demo"})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := payoutMatches(); len(got) != 1 || got["po_demo"] != matches.Data[0].ID {
		t.Fatalf("payout matches: %v", got)
	}
	if _, err := svc.PayoutMatches(context.Background(), w.pid, w.cid, make([]string, reconsvc.MaxPayoutMatches+1)); err == nil {
		t.Fatal("an unbounded payout list was read")
	}
	for _, id := range invs {
		inv, err := w.inv.Get(context.Background(), w.pid, w.cid, id)
		if err != nil || inv.Status != invoices.StatusReconciled {
			t.Fatalf("invoice %s: %s %v", id, inv.Status, err)
		}
	}
	var jes reconsvc.Page[reconsvc.JournalEntry]
	w.do(srv.URL, "GET", "/journal-entries", nil, &jes)
	totals := map[string]int64{}
	for _, e := range jes.Data {
		var dr, cr int64
		for _, l := range e.Lines {
			dr, cr = dr+l.Debit, cr+l.Credit
			totals[l.Account] += l.Debit - l.Credit
		}
		if dr != cr {
			t.Fatalf("entry %s unbalanced: %d != %d", e.ID, dr, cr)
		}
	}
	if totals["Merchant Fees"] != 10000 || totals["Climate Contributions"] != 1000 || totals["Bank"] != 389000 || totals["Stripe Clearing"] != 0 {
		t.Fatalf("totals %v", totals)
	}

	// CSV export, with spreadsheet-safe text and decimal amounts.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/companies/"+w.cid+"/journal-entries", nil)
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("Accept", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) < 5 || rows[0][0] != "entry_id" {
		t.Fatalf("csv: %v %v %d rows", err, resp.Header, len(rows))
	}
	found := false
	for _, r := range rows {
		found = found || (r[7] == "Merchant Fees" && r[8] == "100.00")
	}
	if !found {
		t.Fatalf("csv has no 100.00 fees line: %v", rows)
	}

	// Idempotent: a second run writes nothing new.
	var again reconsvc.Summary
	w.do(srv.URL, "POST", "/reconcile", nil, &again)
	if again.Matched != 0 || again.NewExceptions != 0 || again.Resolved != 0 {
		t.Fatalf("second run: %+v", again)
	}
	outboxtest.Count(t, st, w.pid, outbox.MatchCreated, "", 1) // and announces nothing
	outboxtest.Count(t, st, w.pid, outbox.ReconciliationCompleted, "", 1)

	// Unmatch: the match is kept, reversed, with reversing entries; the line reopens.
	var rev reconsvc.Match
	unmatch := w.do(srv.URL, "DELETE", "/matches/"+matches.Data[0].ID, nil, &rev)
	if unmatch.Status != 200 || rev.Status != reconsvc.MatchReversed {
		t.Fatalf("unmatch: %d %s", unmatch.Status, unmatch.Body)
	}
	outboxtest.One(t, st, w.pid, w.cid, outbox.MatchReversed, rev.ID, unmatch.Body)
	revEntries := w.journal(srv.URL, rev.ID)
	if b := recon.Balances(revEntries); b["Merchant Fees"] != 0 || b["Bank"] != 0 || len(revEntries)%2 != 0 || rev.EntryCount != len(revEntries) {
		t.Fatalf("after reversal: %v", b)
	}
	if res := w.do(srv.URL, "DELETE", "/matches/"+matches.Data[0].ID, nil, nil); res.Status != 409 {
		t.Fatalf("second unmatch: %d", res.Status)
	}
	outboxtest.Count(t, st, w.pid, outbox.MatchReversed, "", 1) // the refused DELETE announced nothing
	if got := payoutMatches(); len(got) != 0 {
		t.Fatalf("payout matches after unmatch: %v", got)
	}
	// Unmatching moves the invoices back to paid; the rematch reconciles them again.
	invStatus := func(want string) {
		t.Helper()
		for _, id := range invs {
			inv, err := w.inv.Get(context.Background(), w.pid, w.cid, id)
			if err != nil || inv.Status != want {
				t.Fatalf("invoice %s: %s %v, want %s", id, inv.Status, err, want)
			}
		}
	}
	invStatus(invoices.StatusPaid)
	defer invStatus(invoices.StatusReconciled)
	var open reconsvc.Page[reconsvc.BankTransaction]
	w.do(srv.URL, "GET", "/bank-transactions?status=unmatched", nil, &open)
	if len(open.Data) != 1 || open.Data[0].ID != "plaid_dep1" {
		t.Fatalf("open lines: %+v", open)
	}
	w.do(srv.URL, "POST", "/reconcile", nil, &sum)
	if sum.Matched != 1 {
		t.Fatalf("rematch: %+v", sum)
	}
}

// TestBankFeed: exact amounts, field errors, pending replaced by posted,
// re-posting as a no-op, and a removed line undoing its match.
func TestBankFeed(t *testing.T) {
	w := newWorld(t)
	srv := w.env.Server()
	today := time.Now().UTC()

	t.Run("bad page names every field and writes nothing", func(t *testing.T) {
		bad := plaid("t_bad", "1.005", today, "X")
		noCur := plaid("t_nocur", "1.00", today, "X")
		noCur["iso_currency_code"] = nil
		res := w.do(srv.URL, "POST", "/bank-transactions", page([]map[string]any{plaid("t_ok", "-1.00", today, "X"), bad, noCur}), nil)
		if res.Status != 422 || !strings.Contains(string(res.Body), "added[1].amount") || !strings.Contains(string(res.Body), "added[2].iso_currency_code") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var list reconsvc.Page[reconsvc.BankTransaction]
		w.do(srv.URL, "GET", "/bank-transactions", nil, &list)
		if len(list.Data) != 0 {
			t.Fatalf("half applied: %+v", list.Data)
		}
	})
	t.Run("amounts convert exactly, Plaid sign flipped", func(t *testing.T) {
		p := page([]map[string]any{plaid("t_dec", "-0.30", today, "X"), plaid("t_out", "19.99", today, "COFFEE")})
		var fed reconsvc.FeedResult
		w.do(srv.URL, "POST", "/bank-transactions", p, &fed)
		var list reconsvc.Page[reconsvc.BankTransaction]
		w.do(srv.URL, "GET", "/bank-transactions", nil, &list)
		got := map[string]int64{}
		for _, l := range list.Data {
			got[l.ID] = l.Amount
		}
		if got["t_dec"] != 30 || got["t_out"] != -1999 {
			t.Fatalf("amounts %v", got)
		}
		var again reconsvc.FeedResult
		w.do(srv.URL, "POST", "/bank-transactions", p, &again)
		if again.Unchanged != 2 || again.Added != 0 {
			t.Fatalf("re-post: %+v", again)
		}
	})
	t.Run("posted line replaces its pending line", func(t *testing.T) {
		pend := plaid("t_pend", "-50.00", today, "STRIPE")
		pend["pending"] = true
		w.do(srv.URL, "POST", "/bank-transactions", page([]map[string]any{pend}), nil)
		posted := plaid("t_post", "-50.00", today, "STRIPE")
		posted["pending_transaction_id"] = "t_pend"
		var fed reconsvc.FeedResult
		w.do(srv.URL, "POST", "/bank-transactions", page([]map[string]any{posted}), &fed)
		if fed.Added != 1 || fed.Removed != 1 {
			t.Fatalf("%+v", fed)
		}
		var list reconsvc.Page[reconsvc.BankTransaction]
		w.do(srv.URL, "GET", "/bank-transactions?status=pending", nil, &list)
		if len(list.Data) != 0 {
			t.Fatalf("pending left: %+v", list.Data)
		}
	})
	t.Run("removed matched line undoes the match and reopens the payout", func(t *testing.T) {
		w.payout("po_rm", today, charge("txn_rm", 7000, 233, ""))
		w.do(srv.URL, "POST", "/bank-transactions", page([]map[string]any{plaid("t_rm", "-67.67", today, "STRIPE TRANSFER")}), nil)
		var sum reconsvc.Summary
		w.do(srv.URL, "POST", "/reconcile", nil, &sum)
		if sum.Matched != 1 {
			t.Fatalf("%+v", sum)
		}
		var fed reconsvc.FeedResult
		w.do(srv.URL, "POST", "/bank-transactions", page(nil, "t_rm"), &fed)
		if fed.Removed != 1 || fed.Unmatched != 1 {
			t.Fatalf("%+v", fed)
		}
		var ms reconsvc.Page[reconsvc.Match]
		w.do(srv.URL, "GET", "/matches?status=reversed", nil, &ms)
		if len(ms.Data) != 1 || ms.Data[0].PayoutIDs[0] != "po_rm" {
			t.Fatalf("reversed: %+v", ms)
		}
	})
	t.Run("page bounds: 500 lines, 100 accounts (repeats dropped)", func(t *testing.T) {
		var big []map[string]any
		for i := 0; i < recon.MaxPageLines+1; i++ {
			big = append(big, plaid(fmt.Sprintf("t_big%03d", i), "1.00", today, "X"))
		}
		if res := w.do(srv.URL, "POST", "/bank-transactions", page(big), nil); res.Status != 422 || !strings.Contains(string(res.Body), "at most 500") {
			t.Fatalf("501 lines: %d %s", res.Status, res.Body)
		}
		p := page(nil)
		var accts []any
		for i := 0; i < recon.MaxPageAccounts+1; i++ {
			accts = append(accts, map[string]any{"account_id": fmt.Sprintf("acc_%03d", i)})
		}
		p["accounts"] = accts
		if res := w.do(srv.URL, "POST", "/bank-transactions", p, nil); res.Status != 422 || !strings.Contains(string(res.Body), "accounts") {
			t.Fatalf("101 accounts: %d %s", res.Status, res.Body)
		}
		// The same account listed 100 times is one account; a full page of
		// 500 lines is a handful of batched calls.
		p = page(big[:recon.MaxPageLines])
		p["accounts"] = accts[:1]
		for i := 1; i < recon.MaxPageAccounts; i++ {
			p["accounts"] = append(p["accounts"].([]any), accts[0])
		}
		c := &counting{API: w.env.Store.DB}
		s := w.service(today, c)
		var pg recon.SyncPage
		b, _ := json.Marshal(p)
		if err := json.Unmarshal(b, &pg); err != nil {
			t.Fatal(err)
		}
		fed, err := s.Ingest(context.Background(), w.pid, w.cid, pg)
		if err != nil || fed.Added != recon.MaxPageLines {
			t.Fatalf("%+v %v", fed, err)
		}
		// 5 BatchGets of lines + 1 of accounts; 20 + 1 BatchWrites; the dirty mark.
		if n := c.calls.Load() + c.writes.Load(); n > 30 {
			t.Fatalf("a 500-line page took %d DynamoDB calls", n)
		}
		t.Logf("a 500-line page: %d reads, %d writes (DynamoDB calls)", c.calls.Load(), c.writes.Load())
	})
	t.Run("unmatched lines of both directions list by date across pages", func(t *testing.T) {
		var all []string
		cursor := ""
		for {
			var list reconsvc.Page[reconsvc.BankTransaction]
			if res := w.do(srv.URL, "GET", "/bank-transactions?status=unmatched&limit=7&cursor="+cursor, nil, &list); res.Status != 200 {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			for _, l := range list.Data {
				all = append(all, l.Date.String()+"#"+l.ID)
			}
			if cursor = list.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) || len(all) < recon.MaxPageLines+2 {
			t.Fatalf("%d lines, sorted %v", len(all), slices.IsSorted(all))
		}
		if res := w.do(srv.URL, "GET", "/bank-transactions?status=unmatched&cursor=bm90LWEtY3Vyc29y", nil, nil); res.Status != 400 {
			t.Fatalf("bad cursor: %d", res.Status)
		}
	})
	t.Run("another partner cannot see or feed the company", func(t *testing.T) {
		_, otherKey := w.env.Partner("Other")
		for _, m := range []string{"GET", "POST"} {
			res := testenv.Do(t, m, srv.URL+"/v1/companies/"+w.cid+"/bank-transactions", otherKey, page(nil))
			if res.Status != 404 {
				t.Fatalf("%s: %d", m, res.Status)
			}
		}
	})
}

// TestManualMatchAndAccounts: sums must agree; account names apply to entries.
func TestManualMatchAndAccounts(t *testing.T) {
	w := newWorld(t)
	srv := w.env.Server()
	today := time.Now().UTC()
	w.payout("po_a", today, charge("t1", 10000, 320, ""))
	w.payout("po_b", today, charge("t2", 5000, 175, ""))
	// A deposit with no provider text: the matcher would wait; a person can match it.
	w.do(srv.URL, "POST", "/bank-transactions", page([]map[string]any{plaid("dep", money.Format(-(9680+4825), "USD"), today, "DEPOSIT")}), nil)

	if res := w.do(srv.URL, "PUT", "/accounts", map[string]string{"fees": "6100 Card Fees", "feez": "x"}, nil); res.Status != 422 || !strings.Contains(string(res.Body), "feez") {
		t.Fatalf("accounts: %d %s", res.Status, res.Body)
	}
	if res := w.do(srv.URL, "PUT", "/accounts", map[string]string{"fees": "6100 Card Fees", "bank.acc_checking": "1010 Checking"}, nil); res.Status != 200 {
		t.Fatalf("accounts: %d %s", res.Status, res.Body)
	}
	if res := w.do(srv.URL, "POST", "/matches", map[string]any{"bank_transaction_id": "dep", "payout_ids": []string{"po_a"}}, nil); res.Status != 422 || !strings.Contains(string(res.Body), "payout_ids") {
		t.Fatalf("sums differ: %d %s", res.Status, res.Body)
	}
	var m reconsvc.Match
	if res := w.do(srv.URL, "POST", "/matches", map[string]any{"bank_transaction_id": "dep", "payout_ids": []string{"po_b", "po_a"}}, &m); res.Status != 201 {
		t.Fatalf("manual: %d %s", res.Status, res.Body)
	}
	b := recon.Balances(w.journal(srv.URL, m.ID))
	if m.Kind != recon.KindManual || b["6100 Card Fees"] != 495 || b["1010 Checking"] != 14505 {
		t.Fatalf("match %+v balances %v", m, b)
	}
	if res := w.do(srv.URL, "POST", "/matches", map[string]any{"bank_transaction_id": "dep", "payout_ids": []string{"po_a", "po_b"}}, nil); res.Status != 409 {
		t.Fatalf("again: %d %s", res.Status, res.Body)
	}
	// More payouts than the table's transaction can hold (DynamoDB Local: 10
	// actions = header, event, 2 lines, 6 payouts): a clear 422, not a DynamoDB error.
	seven := []string{"po_1", "po_2", "po_3", "po_4", "po_5", "po_6", "po_7"}
	if res := w.do(srv.URL, "POST", "/matches", map[string]any{"bank_transaction_id": "dep", "payout_ids": seven}, nil); res.Status != 422 || !strings.Contains(string(res.Body), "give 1 to 6 payout IDs") {
		t.Fatalf("seven payouts on a 10-action table: %d %s", res.Status, res.Body)
	}
}

// nextMonday is 15:00 UTC on the next Monday. Tests whose runs write events
// use it rather than a fixed past date: events expire 30 days after the
// service's clock, and DynamoDB Local deletes expired items.
func nextMonday() time.Time {
	d := time.Now().UTC().Truncate(24 * time.Hour).Add(15 * time.Hour)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// TestExceptionsResolveThemselves: an unexplained Stripe deposit becomes an
// exception once its window passes, and resolves when its payout shows up.
func TestExceptionsResolveThemselves(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	day0 := nextMonday()
	s := w.service(day0, nil)
	page := recon.SyncPage{Added: []recon.PlaidTransaction{{TransactionID: "dep", AccountID: "acc", Amount: "-120.00",
		ISOCurrencyCode: ptr("USD"), Date: day0.Format(time.DateOnly), Name: "STRIPE TRANSFER"}}}
	if _, err := s.Ingest(ctx, w.pid, w.cid, page); err != nil {
		t.Fatal(err)
	}
	// A run right after a change leaves the company due (the index may lag);
	// a minute later it is settled.
	s = w.service(day0.Add(time.Minute), nil)
	sum, err := s.Reconcile(ctx, w.pid, w.cid, false)
	if err != nil || sum.Waiting != 1 || sum.OpenExceptions != 0 {
		t.Fatalf("day 0: %+v %v", sum, err)
	}
	due, _ := s.Due(ctx, day0)
	if len(due) != 0 {
		t.Fatalf("due on day 0 after the run: %v", due)
	}
	later := day0.AddDate(0, 0, 10)
	s = w.service(later, nil)
	if due, _ := s.Due(ctx, later); len(due) != 1 {
		t.Fatalf("not due once the window passed: %v", due)
	}
	sum, err = s.Reconcile(ctx, w.pid, w.cid, false)
	if err != nil || sum.NewExceptions != 1 {
		t.Fatalf("day 10: %+v %v", sum, err)
	}
	xs, _, err := s.Exceptions(ctx, w.pid, w.cid, reconsvc.Filter{}, 50, "")
	if err != nil || len(xs) != 1 || xs[0].Reason != recon.ReasonUnmatchedDeposit {
		t.Fatalf("exceptions %+v %v", xs, err)
	}
	// Opened with its event; the run that opened it is announced with its summary.
	srv := w.env.Server()
	var open reconsvc.Page[json.RawMessage]
	w.do(srv.URL, "GET", "/exceptions", nil, &open)
	outboxtest.One(t, s.Store, w.pid, w.cid, outbox.ExceptionOpened, xs[0].ID, open.Data[0])
	outboxtest.One(t, s.Store, w.pid, w.cid, outbox.ReconciliationCompleted, w.cid, sum)
	if again, err := s.Reconcile(ctx, w.pid, w.cid, false); err != nil || again.NewExceptions != 0 {
		t.Fatalf("rerun: %+v %v", again, err)
	}
	outboxtest.Count(t, s.Store, w.pid, outbox.ExceptionOpened, "", 1) // a rerun announces nothing
	outboxtest.Count(t, s.Store, w.pid, outbox.ReconciliationCompleted, "", 1)
	// The payout arrives late (recorded now, arrival on day 0): the exception resolves.
	p := w.payout("po_late", day0, charge("t", 12000, 0, ""))
	if err := reconsvc.MarkPayoutChanged(ctx, s.Store, p, later); err != nil {
		t.Fatal(err)
	}
	sum, err = s.Reconcile(ctx, w.pid, w.cid, false)
	if err != nil || sum.Matched != 1 || sum.Resolved != 1 {
		t.Fatalf("after payout: %+v %v", sum, err)
	}
	xs, _, _ = s.Exceptions(ctx, w.pid, w.cid, reconsvc.Filter{}, 50, "")
	res, _, _ := s.Exceptions(ctx, w.pid, w.cid, reconsvc.Filter{Status: "resolved"}, 50, "")
	if len(xs) != 0 || len(res) != 1 || res[0].ResolvedAt == nil {
		t.Fatalf("open %+v resolved %+v", xs, res)
	}
	var resolved reconsvc.Page[json.RawMessage]
	w.do(srv.URL, "GET", "/exceptions?status=resolved", nil, &resolved)
	outboxtest.One(t, s.Store, w.pid, w.cid, outbox.ExceptionResolved, res[0].ID, resolved.Data[0])
	outboxtest.Count(t, s.Store, w.pid, outbox.ReconciliationCompleted, "", 2)
	if _, err := s.Reconcile(ctx, w.pid, w.cid, false); err != nil {
		t.Fatal(err)
	}
	outboxtest.Count(t, s.Store, w.pid, outbox.ExceptionResolved, "", 1)
	outboxtest.Count(t, s.Store, w.pid, outbox.MatchCreated, "", 1)
}

// TestUnreadMoneyOutStaysAsItWas: a run that does not read older money-out
// lines (nothing needs them) leaves their exceptions open; a negative payout
// makes the run read them again, and the debit matches it.
func TestUnreadMoneyOutStaysAsItWas(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	day0 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) // a Monday
	s := w.service(day0, nil)
	w.line(s, "debit", "45.00", day0, "STRIPE TRANSFER")
	later := day0.AddDate(0, 0, 10)
	s = w.service(later, nil)
	if sum, err := s.Reconcile(ctx, w.pid, w.cid, false); err != nil || sum.NewExceptions != 1 {
		t.Fatalf("day 10: %+v %v", sum, err)
	}
	// Two days on, a new purchase: the run reads money-out lines from its date
	// only, so the debit is not looked at and its exception stays open.
	day12 := later.AddDate(0, 0, 2)
	s = w.service(day12, nil)
	w.line(s, "coffee", "4.50", day12, "COFFEE")
	s = w.service(day12.Add(time.Minute), nil)
	sum, err := s.Reconcile(ctx, w.pid, w.cid, false)
	if err != nil || sum.Resolved != 0 || sum.BankTransactions != 1 {
		t.Fatalf("day 12: %+v %v", sum, err)
	}
	if xs, _, _ := s.Exceptions(ctx, w.pid, w.cid, reconsvc.Filter{}, 50, ""); len(xs) != 1 {
		t.Fatalf("open exceptions: %+v", xs)
	}
	// A negative payout of day 0 (Stripe debited the bank): the run reads the
	// older money-out lines again and matches the debit.
	p := w.payout("po_neg", day0, payouts.Item{SourceID: "t", Type: payouts.ItemAdjustment, Amount: -4500, Net: -4500, Currency: "USD"})
	if err := reconsvc.MarkPayoutChanged(ctx, s.Store, p, day12); err != nil {
		t.Fatal(err)
	}
	sum, err = s.Reconcile(ctx, w.pid, w.cid, false)
	if err != nil || sum.Matched != 1 || sum.Resolved != 1 {
		t.Fatalf("negative payout: %+v %v", sum, err)
	}
}

// line ingests one posted Plaid line (Plaid's sign: positive is money out).
func (w *world) line(s *reconsvc.Service, id, amount string, date time.Time, name string) {
	w.t.Helper()
	if _, err := s.Ingest(context.Background(), w.pid, w.cid, recon.SyncPage{Added: []recon.PlaidTransaction{{TransactionID: id, AccountID: "acc",
		Amount: json.Number(amount), ISOCurrencyCode: ptr("USD"), Date: date.Format(time.DateOnly), Name: name}}}); err != nil {
		w.t.Fatal(err)
	}
}

func ptr(s string) *string { return &s }

// counting wraps the DynamoDB client and counts items read (and write calls).
type counting struct {
	store.API
	items, calls, writes atomic.Int64
}

func (c *counting) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.writes.Add(1)
	return c.API.BatchWriteItem(ctx, in, o...)
}

func (c *counting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.writes.Add(1)
	return c.API.TransactWriteItems(ctx, in, o...)
}

func (c *counting) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.writes.Add(1)
	return c.API.UpdateItem(ctx, in, o...)
}

func (c *counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.writes.Add(1)
	return c.API.PutItem(ctx, in, o...)
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.API.Query(ctx, in, o...)
	if err == nil {
		c.calls.Add(1)
		c.items.Add(int64(out.ScannedCount))
	}
	return out, err
}

func (c *counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls.Add(1)
	c.items.Add(1)
	return c.API.GetItem(ctx, in, o...)
}

func (c *counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := c.API.BatchGetItem(ctx, in, o...)
	if err == nil {
		c.calls.Add(1)
		for _, v := range out.Responses {
			c.items.Add(int64(len(v)))
		}
	}
	return out, err
}

// TestIncrementalRunReadsOnlyNewWork: a company with 25 bank lines a day (24
// card purchases and one Stripe deposit, matched to that day's payout) up to
// yesterday; today 100 new lines (95 purchases, 5 deposits) and 5 payouts. The
// run reads the new lines and payouts and the unmatched candidates in their
// windows, never the already-matched history nor the older purchases (items
// read through a counting client).
func TestIncrementalRunReadsOnlyNewWork(t *testing.T) { incrementalReads(t, 60) }

// TestIncrementalRun100kHistory is the same with 4,000 days (100,000 lines) of
// history; make bench runs it (PAYRECON_LONG=1) because loading them into
// DynamoDB Local takes minutes.
func TestIncrementalRun100kHistory(t *testing.T) {
	if os.Getenv("PAYRECON_LONG") == "" {
		t.Skip("set PAYRECON_LONG=1 (make bench) to load a 100k-line history")
	}
	incrementalReads(t, 4000)
}

func incrementalReads(t *testing.T, days int) {
	w := newWorld(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	first := now.AddDate(0, 0, -days)
	s := w.service(first, nil)
	s.ScanPayouts = false // payout ingestion marks changes (MarkPayoutChanged)
	// day renders one day's lines: purchases, then deposits of the payouts.
	day := func(d time.Time, purchases, deposits int, tag string, amount func(i int) int64) []recon.PlaidTransaction {
		var out []recon.PlaidTransaction
		for i := 0; i < purchases; i++ {
			out = append(out, recon.PlaidTransaction{TransactionID: fmt.Sprintf("%s-%s-p%02d", tag, d.Format("20060102"), i), AccountID: "acc",
				Amount: json.Number(fmt.Sprintf("%d.%02d", 10+i*3, i)), ISOCurrencyCode: ptr("USD"), Date: d.Format(time.DateOnly), Name: "CARD PURCHASE"})
		}
		for i := 0; i < deposits; i++ {
			out = append(out, recon.PlaidTransaction{TransactionID: fmt.Sprintf("%s-%s-d%d", tag, d.Format("20060102"), i), AccountID: "acc",
				Amount: json.Number(money.Format(-amount(i), "USD")), ISOCurrencyCode: ptr("USD"), Date: d.Format(time.DateOnly), Name: "STRIPE TRANSFER"})
		}
		return out
	}
	feed := func(s *reconsvc.Service, ts []recon.PlaidTransaction) {
		for off := 0; off < len(ts); off += recon.MaxPageLines {
			if _, err := s.Ingest(ctx, w.pid, w.cid, recon.SyncPage{Added: ts[off:min(off+recon.MaxPageLines, len(ts))]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var hist []recon.PlaidTransaction
	for i := 0; i < days; i++ {
		d := first.AddDate(0, 0, i)
		amt := int64(100000 + 7*i)
		w.payout(fmt.Sprintf("po_h%05d", i), d, charge("t", amt, 0, ""))
		hist = append(hist, day(d, 24, 1, "h", func(int) int64 { return amt })...)
	}
	feed(s, hist)
	// The history is reconciled as it came in: every deposit matched.
	s = w.service(now.Add(-time.Hour), nil)
	s.ScanPayouts = false
	sum, err := s.Reconcile(ctx, w.pid, w.cid, true)
	if err != nil || sum.Matched != days {
		t.Fatalf("history run: %+v %v", sum, err)
	}

	// Today: 100 new lines, 5 of them deposits of today's 5 payouts.
	s2 := w.service(now, nil)
	amount := func(i int) int64 { return int64(250000 + 13*i) }
	for i := 0; i < 5; i++ {
		p := w.payout(fmt.Sprintf("po_n%d", i), now, charge("t", amount(i), 0, ""))
		if err := reconsvc.MarkPayoutChanged(ctx, s2.Store, p, now); err != nil {
			t.Fatal(err)
		}
	}
	feed(s2, day(now, 95, 5, "n", amount))
	c := &counting{API: w.env.Store.DB}
	counted := w.service(now.Add(time.Minute), c)
	counted.ScanPayouts = false
	sum, err = counted.Reconcile(ctx, w.pid, w.cid, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("incremental run, 25 lines a day for %d days up to yesterday (%d lines): %d items read in %d calls; considered %d lines, %d payouts from %s; matched %d",
		days, 25*days, c.items.Load(), c.calls.Load(), sum.BankTransactions, sum.Payouts, sum.From, sum.Matched)
	if sum.BankTransactions != 100 || sum.Matched != 5 || c.items.Load() > 300 {
		t.Fatalf("read %d items for 100 new lines (%d days of history): %+v", c.items.Load(), days, sum)
	}
	c.items.Store(0)
	if _, err := counted.Reconcile(ctx, w.pid, w.cid, true); err != nil {
		t.Fatal(err)
	}
	if c.items.Load() < int64(24*days) {
		t.Fatalf("a full run read only %d items", c.items.Load())
	}
}

// TestScheduleAndQueueEntry: the scheduled entry fans due companies out, the
// queue entry runs one company per message, the HTTP entry serves requests.
func TestScheduleAndQueueEntry(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	today := time.Now().UTC()
	w.payout("po_s", today, charge("t", 5000, 0, ""))
	s := reconfn.Service(w.env.Env)
	if _, err := s.Ingest(ctx, w.pid, w.cid, recon.SyncPage{Added: []recon.PlaidTransaction{{TransactionID: "d", AccountID: "a",
		Amount: "-50.00", ISOCurrencyCode: ptr("USD"), Date: today.Format(time.DateOnly), Name: "STRIPE"}}}); err != nil {
		t.Fatal(err)
	}
	w.env.Env.Now = func() time.Time { return time.Now().UTC().Add(time.Minute) } // past the index-lag guard
	entry := reconfn.ReconcileEntry(w.env.Env, "")                                // no queue: due companies run inline
	out, err := entry(ctx, json.RawMessage(`{"source":"payrecon.schedule"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(reconsvc.ScheduleResult); r.Due != 1 || r.Sent != 1 {
		t.Fatalf("schedule: %+v", r)
	}
	ms, _, _ := s.Matches(ctx, w.pid, w.cid, reconsvc.Filter{}, 10, "")
	if len(ms) != 1 {
		t.Fatalf("matches after the schedule: %d", len(ms))
	}
	if due, _ := s.Due(ctx, time.Now()); len(due) != 0 {
		t.Fatalf("still due: %v", due)
	}
	msg := fmt.Sprintf(`{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":%q},{"messageId":"m2","eventSource":"aws:sqs","body":"{}"}]}`,
		fmt.Sprintf(`{"partner_id":%q,"company_id":%q}`, w.pid, w.cid))
	out, err = entry(ctx, json.RawMessage(msg))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	// m2 is not a run reference: acknowledged and logged, since redelivery cannot help.
	if string(b) != `{"batchItemFailures":null}` {
		t.Fatalf("sqs response %s", b)
	}
	ev := fmt.Sprintf(`{"version":"2.0","routeKey":"ANY /v1/companies/{id}/reconcile","rawPath":"/v1/companies/%s/reconcile",
		"headers":{"authorization":"Bearer %s"},"requestContext":{"http":{"method":"GET","path":"/v1/companies/%s/reconcile"}}}`, w.cid, w.key, w.cid)
	out, err = entry(ctx, json.RawMessage(ev))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(out)
	if !strings.Contains(string(b), `"statusCode":200`) || !strings.Contains(string(b), "last_run_at") {
		t.Fatalf("http via entry: %s", b)
	}
}

// TestFailedPayoutAfterMatch: a matched payout fails; the bank takes the money
// back. The match is reversed, the failed payout's items are booked into
// clearing, and the deposit and its return pair as a returned match.
func TestFailedPayoutAfterMatch(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	day0 := nextMonday()
	s := w.service(day0, nil)
	s.ScanPayouts = false
	p := w.payout("po_f", day0, charge("t1", 10000, 320, ""))
	if err := reconsvc.MarkPayoutChanged(ctx, s.Store, p, day0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, w.pid, w.cid, recon.SyncPage{Added: []recon.PlaidTransaction{{TransactionID: "dep", AccountID: "a",
		Amount: "-96.80", ISOCurrencyCode: ptr("USD"), Date: day0.Format(time.DateOnly), Name: "STRIPE TRANSFER"}}}); err != nil {
		t.Fatal(err)
	}
	s = w.service(day0.Add(time.Minute), nil)
	s.ScanPayouts = false
	if sum, err := s.Reconcile(ctx, w.pid, w.cid, false); err != nil || sum.Matched != 1 {
		t.Fatalf("first run: %+v %v", sum, err)
	}
	// Two days later Stripe reports the payout failed and the bank shows the return.
	day2 := day0.AddDate(0, 0, 2)
	p.Status, p.FailureCode, p.ProviderUpdated, p.UpdatedAt = payouts.StatusFailed, "account_closed", 2, day2
	if err := w.payouts.Upsert(ctx, p); err != nil {
		t.Fatal(err)
	}
	s = w.service(day2, nil)
	s.ScanPayouts = false
	if err := reconsvc.MarkPayoutChanged(ctx, s.Store, p, day2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, w.pid, w.cid, recon.SyncPage{Added: []recon.PlaidTransaction{{TransactionID: "ret", AccountID: "a",
		Amount: "96.80", ISOCurrencyCode: ptr("USD"), Date: day2.Format(time.DateOnly), Name: "STRIPE TRANSFER RETURN"}}}); err != nil {
		t.Fatal(err)
	}
	s = w.service(day2.Add(time.Minute), nil)
	s.ScanPayouts = false
	sum, err := s.Reconcile(ctx, w.pid, w.cid, false)
	if err != nil || sum.Matched != 1 {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	ms, _, _ := s.Matches(ctx, w.pid, w.cid, reconsvc.Filter{}, 50, "")
	kinds := map[string]string{}
	var all []recon.Entry
	for _, m := range ms {
		kinds[m.Kind] = m.Status
		all = append(all, w.journal(w.env.Server("reports").URL, m.ID)...)
	}
	if kinds[recon.KindSingle] != reconsvc.MatchReversed || kinds[recon.KindReturned] != reconsvc.MatchActive || kinds[reconsvc.KindFailedPayout] != reconsvc.MatchActive {
		t.Fatalf("records: %v", kinds)
	}
	// Each record announced as it was written: three created, the first reversed.
	for _, m := range ms {
		if m.Kind == recon.KindSingle {
			outboxtest.One(t, s.Store, w.pid, w.cid, outbox.MatchReversed, m.ID, m)
		}
		created := outboxtest.Events(t, s.Store, w.pid, outbox.MatchCreated, m.ID)
		if len(created) != 1 {
			t.Fatalf("%d match.created for %s", len(created), m.ID)
		}
		if m.Kind == reconsvc.KindFailedPayout {
			outboxtest.Equal(t, created[0], m)
		}
	}
	if err := recon.CheckBalanced(all); err != nil {
		t.Fatal(err)
	}
	b := recon.Balances(all)
	// The money went back to Stripe: the bank is where it started, clearing
	// holds the payout until Stripe pays it again.
	if b["Bank"] != 0 || b["Stripe Clearing"] != 9680 || b["Accounts Receivable"] != -10000 || b["Merchant Fees"] != 320 {
		t.Fatalf("balances %v", b)
	}
}
