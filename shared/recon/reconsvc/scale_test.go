package reconsvc_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconfn"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payments"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// TestScaleScenario is the production-size path at 2,000 balance transactions
// (make bench runs BenchmarkScaleScenario at 20,000): a payout itemised from
// its balance transactions (resumed after a simulated timeout), matched to its
// deposit, the deposit removed by Plaid (match reversed), re-added
// (re-matched), unmatched by hand, and a full rerun. It asserts the DynamoDB
// call formula of itemisation, that no item exceeds its documented bound, that
// no step answers 5xx, and that the journal stays balanced.
func TestScaleScenario(t *testing.T) {
	r := scaleScenario(t, 2000, 50)
	t.Logf("%+v", r)
}

// BenchmarkScaleScenario runs the scenario at the size; set
// PAYRECON_SCALE to change it. Reported: itemisation wall time and DynamoDB
// calls, the largest item written, and the whole scenario's time.
func BenchmarkScaleScenario(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("PAYRECON_SCALE")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		r := scaleScenario(b, n, n/20)
		b.ReportMetric(r.itemise.Seconds(), "itemise-s")
		b.ReportMetric(float64(r.itemiseCalls), "itemise-calls")
		b.ReportMetric(float64(r.callBound), "calls-bound(pages+n/20)")
		b.ReportMetric(float64(r.largest), "largest-item-B")
		b.ReportMetric(r.reconcile.Seconds(), "match-s")
		b.ReportMetric(r.total.Seconds(), "scenario-s")
	}
}

type scaleResult struct {
	n                       int
	itemise, reconcile      time.Duration
	total                   time.Duration
	itemiseCalls, callBound int64
	largest                 int
	largestSK               string
	itemsPageBytes          int
}

// callCounter counts DynamoDB calls by operation.
type callCounter struct {
	store.API
	get, query, batchGet, batchWrite, transact, update, put, del atomic.Int64
}

func (c *callCounter) total() int64 {
	return c.get.Load() + c.query.Load() + c.batchGet.Load() + c.batchWrite.Load() + c.transact.Load() + c.update.Load() + c.put.Load() + c.del.Load()
}

func (c *callCounter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.get.Add(1)
	return c.API.GetItem(ctx, in, o...)
}
func (c *callCounter) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.query.Add(1)
	return c.API.Query(ctx, in, o...)
}
func (c *callCounter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.batchGet.Add(1)
	return c.API.BatchGetItem(ctx, in, o...)
}
func (c *callCounter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.batchWrite.Add(1)
	return c.API.BatchWriteItem(ctx, in, o...)
}
func (c *callCounter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.transact.Add(1)
	return c.API.TransactWriteItems(ctx, in, o...)
}
func (c *callCounter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.update.Add(1)
	return c.API.UpdateItem(ctx, in, o...)
}
func (c *callCounter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.put.Add(1)
	return c.API.PutItem(ctx, in, o...)
}
func (c *callCounter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.del.Add(1)
	return c.API.DeleteItem(ctx, in, o...)
}

const scaleAcct = "acct_1ScaleScenario01"

// scaleScenario runs the scenario with n balance transactions, nInvoices of
// whose payments pay invoices.
func scaleScenario(tb testing.TB, n, nInvoices int) scaleResult {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs the local stack")
	}
	began := time.Now()
	ctx := context.Background()
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		tb.Fatal(err)
	}
	fake, err := example.NewBalanceFake(st.StripeURL)
	if err != nil {
		tb.Fatal(err)
	}
	fake.PageSize = 0 // Stripe's own limit (100)
	fakeSrv := httptest.NewServer(fake)
	tb.Cleanup(fakeSrv.Close)
	env := testenv.New(tb, func(c *app.Config) { c.StripeAPIURL = fakeSrv.URL })
	pid, key := env.Partner("Scale")
	if res := testenv.Do(tb, "PUT", env.Server("credentials").URL+"/v1/integrations/stripe", key,
		map[string]any{"secret_key": "sk_test_123abc456def", "client_id": "ca_1234567890abcdef", "webhook_secret": "whsec_test1234secret"}); res.Status != 200 {
		tb.Fatalf("configure stripe: %d %s", res.Status, res.Body)
	}
	co, _, err := env.Companies.Create(ctx, pid, "scale", "Scale Shop")
	if err != nil {
		tb.Fatal(err)
	}
	cid := co.ID
	if _, _, err := env.Companies.Connect(ctx, companies.Connection{PartnerID: pid, CompanyID: cid, Provider: "stripe",
		AccountID: scaleAcct, Method: "linked", ConnectedAt: env.Now()}); err != nil {
		tb.Fatal(err)
	}
	today := time.Now().UTC()

	// The payout: n charges, the first half of them our recorded payments
	// (fees not known yet), nInvoices of those paying invoices.
	inv := stores.Invoices(env.Env)
	var seed []types.WriteRequest
	var txns []map[string]any
	var total int64
	created := today.Add(-24 * time.Hour).Unix()
	for i := 0; i < n; i++ {
		amt, fee := int64(1000+i%9000), int64(59+i%31)
		total += amt - fee
		pi, ch := fmt.Sprintf("pi_scale_%06d", i), fmt.Sprintf("ch_scale_%06d", i)
		if i < n/2 {
			p := payments.Payment{PartnerID: pid, CompanyID: cid, ID: pi, Provider: "stripe", AccountID: scaleAcct, Status: payments.StatusSucceeded,
				Gross: amt, Net: amt, Currency: "USD", Method: "card", ChargeID: ch, CreatedAt: today, UpdatedAt: today, StatusRank: payments.Rank(payments.StatusSucceeded)}
			if i < nInvoices {
				in, _, err := inv.Create(ctx, pid, cid, invoices.Input{ExternalID: "scale-" + strconv.Itoa(i), Number: "S-" + strconv.Itoa(i), Customer: "c",
					Amount: amt, Currency: "USD", IssuedAt: "2026-01-01", DueAt: "2026-02-01"})
				if err != nil {
					tb.Fatal(err)
				}
				if _, err := inv.Transition(ctx, pid, cid, in.ID, invoices.StatusPaid); err != nil {
					tb.Fatal(err)
				}
				p.InvoiceID = in.ID
			}
			p.PK, p.SK = store.CompanyPK(pid, cid), payments.SK(pi)
			req, err := store.PutRequest(p)
			if err != nil {
				tb.Fatal(err)
			}
			seed = append(seed, req)
		}
		txns = append(txns, example.BalanceTxn(fmt.Sprintf("txn_scale_%06d", i), "charge", "charge", amt, fee, created-int64(i),
			map[string]any{"id": ch, "object": "charge", "amount": amt, "currency": "usd", "payment_intent": pi}))
	}
	if err := env.Store.BatchWrite(ctx, seed); err != nil {
		tb.Fatal(err)
	}
	txns = append([]map[string]any{example.BalanceTxn("txn_scale_payout", "payout", "payout", -total, 0, created+60, map[string]any{"id": "po_scale", "object": "payout"})}, txns...)
	fake.Set(scaleAcct, "po_scale", txns)
	pst := stores.Payouts(env.Env)
	po := payouts.Payout{PartnerID: pid, CompanyID: cid, ID: "po_scale", Provider: payouts.Stripe, AccountID: scaleAcct, Amount: total,
		Currency: "USD", Status: payouts.StatusPaid, Automatic: true, ArrivalDate: today.Format(time.DateOnly), Descriptor: "SCALE SHOP", ProviderUpdated: 1}
	if err := pst.Upsert(ctx, po); err != nil {
		tb.Fatal(err)
	}

	// Itemise: the first attempt stops at its deadline after one page and
	// checkpoints; the retry resumes there.
	wk := workerfn.Worker(env.Env)
	dctx, cancel := context.WithDeadline(ctx, time.Now().Add(time.Hour))
	defer cancel()
	wk.Now = func() time.Time { return time.Now().Add(time.Hour - 5*time.Second) }
	if _, err := wk.ItemiseStripePayout(dctx, pid, cid, scaleAcct, "po_scale"); err == nil || !strings.Contains(err.Error(), webhooks.ErrResume.Error()) {
		tb.Fatalf("first attempt: %v", err)
	}
	got, _ := pst.Get(ctx, pid, cid, "po_scale")
	if got.ItemisationStatus != payouts.ItemisationPending || got.Progress.Count != 99 || got.Progress.Cursor != "txn_scale_000098" {
		tb.Fatalf("checkpoint after one page: %+v", got.Progress)
	}
	calls := &callCounter{API: env.Store.DB}
	env.Store.DB = calls
	wk.Now = env.Now
	startItemise := time.Now()
	status, err := wk.ItemiseStripePayout(ctx, pid, cid, scaleAcct, "po_scale")
	r := scaleResult{n: n, itemise: time.Since(startItemise), itemiseCalls: calls.total()}
	env.Store.DB = calls.API
	if err != nil || status != payouts.ItemisationComplete {
		tb.Fatalf("itemise: %s %v", status, err)
	}
	bt := fake.Calls()
	if !strings.Contains(bt[1], "starting_after=txn_scale_000098") {
		tb.Fatalf("the retry did not resume: %v", bt[:2])
	}
	// The formula: per page of 100 one BatchGetItem of its payments and
	// ceil(items/25) BatchWriteItem calls; fee updates in transactions of 25
	// (only pages with our payments); a checkpoint every 5 pages; then one
	// transaction marking the payout itemised with its payout.itemised event,
	// its change marker (one or two transactions) and a read of the payout.
	rest := n - 99 // the resumed run's items
	pages := (rest + 99) / 100
	feePages := (n/2 - 99 + 99) / 100
	feeTx := env.Store.TxLimit() // fee updates per transaction
	wantWrites := int64(0)
	for left := rest; left > 0; left -= 100 {
		wantWrites += int64((min(left, 100) + 24) / 25)
	}
	if calls.batchGet.Load() != int64(pages) || calls.batchWrite.Load() != wantWrites ||
		calls.update.Load() != int64(pages/5) || calls.transact.Load() > int64(feePages*((100+feeTx-1)/feeTx)+3) || calls.get.Load() > 2 || calls.query.Load() != 0 {
		tb.Fatalf("itemisation calls: batchGet %d (want %d), batchWrite %d (want %d), update %d (want %d), transact %d (≤ %d), get %d, query %d",
			calls.batchGet.Load(), pages, calls.batchWrite.Load(), wantWrites, calls.update.Load(), pages/5, calls.transact.Load(), feePages*((100+feeTx-1)/feeTx)+3, calls.get.Load(), calls.query.Load())
	}
	r.callBound = int64(pages + rest/20)
	if calls.total() > r.callBound+int64((n/2+feeTx-1)/feeTx) { // + fee transactions, when every payment's fee is new
		tb.Fatalf("itemisation took %d calls for %d items", calls.total(), rest)
	}
	got, _ = pst.Get(ctx, pid, cid, "po_scale")
	if got.ItemCount != n || !reflect.DeepEqual(got.Progress, payouts.Progress{}) {
		tb.Fatalf("itemised: %+v", got)
	}
	// The totals stored on the payout (what the Embedded UI shows) cover every item.
	counted := 0
	for kind, t := range got.Totals {
		if kind != payouts.TotalsFees {
			counted += t.Count
		}
	}
	if counted != n {
		tb.Fatalf("stored totals cover %d of %d items: %+v", counted, n, got.Totals)
	}
	pay, err := stores.Payments(env.Env).Get(ctx, pid, cid, "pi_scale_000007")
	if err != nil || !pay.FeeKnown || pay.Fee != 59+7 {
		tb.Fatalf("fee not recorded: %+v %v", pay, err)
	}

	// Matched, removed by Plaid, re-added, unmatched, rerun: through the API.
	srv := env.Server()
	do := func(method, path string, body, out any) {
		tb.Helper()
		res := testenv.Do(tb, method, srv.URL+"/v1/companies/"+cid+path, key, body)
		if res.Status >= 300 {
			tb.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
		}
		if out != nil {
			res.JSON(tb, out)
		}
	}
	dep := func(id string) map[string]any {
		return page([]map[string]any{plaid(id, money.Format(-total, "USD"), today, "STRIPE TRANSFER")})
	}
	reconcile := func(q string, want int) {
		tb.Helper()
		var sum reconsvc.Summary
		do("POST", "/reconcile"+q, nil, &sum)
		if sum.Matched != want {
			tb.Fatalf("reconcile%s: %+v", q, sum)
		}
	}
	do("POST", "/bank-transactions", dep("dep_scale"), nil)
	startMatch := time.Now()
	reconcile("", 1)
	r.reconcile = time.Since(startMatch)
	var ms reconsvc.Page[reconsvc.Match]
	do("GET", "/matches", nil, &ms)
	if len(ms.Data) != 1 || ms.Data[0].InvoiceCount != nInvoices || ms.Data[0].LineCount < n {
		tb.Fatalf("match: %+v", ms.Data)
	}
	var ids []string
	if err := reconfn.Service(env.Env).MatchInvoiceIDs(ctx, pid, cid, ms.Data[0].ID, func(c []string) error { ids = append(ids, c...); return nil }); err != nil || len(ids) != nInvoices {
		tb.Fatalf("invoice links: %d %v", len(ids), err)
	}
	do("POST", "/bank-transactions", page(nil, "dep_scale"), nil) // Plaid removes it: the match is reversed
	do("POST", "/bank-transactions", dep("dep_scale_2"), nil)     // and sends it again under a new ID
	reconcile("", 1)
	do("GET", "/matches?status=active", nil, &ms)
	if len(ms.Data) != 1 {
		tb.Fatalf("active matches: %+v", ms.Data)
	}
	do("DELETE", "/matches/"+ms.Data[0].ID, nil, nil)
	reconcile("?full=true", 1)

	// The journal over every match balances, and each account nets to what one
	// live match books (the reversed ones cancel out).
	all := readJournal(tb, srv.URL+"/v1/companies/"+cid, key, "")
	if err := recon.CheckBalanced(all); err != nil {
		tb.Fatal(err)
	}
	if b := recon.Balances(all); b["Bank"] != total || b["Stripe Clearing"] != 0 {
		tb.Fatalf("balances after the scenario: %v", b)
	}

	// No item over its bound: scan the company's partition.
	r.largest, r.largestSK = largestItem(tb, env.Store, store.CompanyPK(pid, cid))
	if r.largest > 100*1024 {
		tb.Fatalf("largest item %s is %d bytes", r.largestSK, r.largest)
	}

	// The largest possible page of payout items: 500 items with every field at
	// its bound.
	var big []payouts.Item
	for i := 0; i < payouts.MaxItemsPage; i++ {
		big = append(big, payouts.Item{SourceID: strings.Repeat("s", 300), Type: payouts.ItemCharge, Amount: 1 << 40, Fee: 1 << 40, Net: -1 << 40,
			Currency: "USD", Description: strings.Repeat("<é>", 200), PaymentID: strings.Repeat("p", 300), InvoiceID: strings.Repeat("i", 300), Created: 1 << 40})
	}
	po.ID = "po_widest"
	if err := pst.Upsert(ctx, po); err != nil {
		tb.Fatal(err)
	}
	if _, err := pst.SetItems(ctx, po, big); err != nil {
		tb.Fatal(err)
	}
	res := testenv.Do(tb, "GET", srv.URL+"/v1/companies/"+cid+"/payouts/po_widest/items?limit=500", key, nil)
	r.itemsPageBytes = len(res.Body)
	if res.Status != 200 || len(res.Body) > 2<<20 {
		tb.Fatalf("widest items page: %d, %d bytes", res.Status, len(res.Body))
	}
	if res := testenv.Do(tb, "GET", srv.URL+"/v1/companies/"+cid+"/payouts/po_widest/items?limit=501", key, nil); res.Status != 422 {
		tb.Fatalf("limit 501: %d", res.Status)
	}
	r.total = time.Since(began)
	return r
}

// largestItem scans a partition and returns its largest item's size (store.ItemSize) and key.
func largestItem(tb testing.TB, st *store.Store, pk string) (int, string) {
	tb.Helper()
	var largest int
	var sk string
	var start map[string]types.AttributeValue
	for {
		out, err := st.DB.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(st.Table), KeyConditionExpression: aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}, ExclusiveStartKey: start})
		if err != nil {
			tb.Fatal(err)
		}
		for _, it := range out.Items {
			if n := store.ItemSize(it); n > largest {
				largest, sk = n, it["sk"].(*types.AttributeValueMemberS).Value
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return largest, sk
		}
	}
}

// BenchmarkFeedPage500 ingests one full Plaid page (500 new lines, one
// account) per iteration: BatchGetItem of the lines and the account, 25-item
// BatchWriteItem calls, the company's dirty mark. Reported per page.
func BenchmarkFeedPage500(b *testing.B) {
	env := testenv.New(b)
	pid, _ := env.Partner("Feed")
	co, _, err := env.Companies.Create(context.Background(), pid, "feed", "Feed Shop")
	if err != nil {
		b.Fatal(err)
	}
	calls := &callCounter{API: env.Store.DB}
	s := reconfn.Service(env.Env)
	s.Store = store.New(calls, env.Store.Table)
	s.Store.MaxTransact = env.Store.MaxTransact
	day := time.Now().UTC().Format(time.DateOnly)
	pages := make([]recon.SyncPage, b.N)
	for i := range pages {
		for j := 0; j < recon.MaxPageLines; j++ {
			pages[i].Added = append(pages[i].Added, recon.PlaidTransaction{TransactionID: fmt.Sprintf("b%05d-%03d", i, j), AccountID: "acc",
				Amount: "12.34", ISOCurrencyCode: ptr("USD"), Date: day, Name: "CARD PURCHASE"})
		}
	}
	b.ResetTimer()
	for i := range pages {
		if res, err := s.Ingest(context.Background(), pid, co.ID, pages[i]); err != nil || res.Added != recon.MaxPageLines {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(calls.total())/float64(b.N), "dynamodb-calls/page")
}
