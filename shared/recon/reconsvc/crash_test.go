package reconsvc_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/store"
)

var errCrash = errors.New("injected crash")

// crashAfter lets the first n writes through, then fails every write, as if
// the Lambda died there (nothing after the crash point reaches the table).
type crashAfter struct {
	store.API
	n      int64
	writes atomic.Int64
}

func (c *crashAfter) write() error {
	if c.writes.Add(1) > c.n {
		return errCrash
	}
	return nil
}

func (c *crashAfter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := c.write(); err != nil {
		return nil, err
	}
	return c.API.PutItem(ctx, in, o...)
}

func (c *crashAfter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := c.write(); err != nil {
		return nil, err
	}
	return c.API.UpdateItem(ctx, in, o...)
}

func (c *crashAfter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := c.write(); err != nil {
		return nil, err
	}
	return c.API.DeleteItem(ctx, in, o...)
}

func (c *crashAfter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if err := c.write(); err != nil {
		return nil, err
	}
	return c.API.TransactWriteItems(ctx, in, o...)
}

func (c *crashAfter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if err := c.write(); err != nil {
		return nil, err
	}
	return c.API.BatchWriteItem(ctx, in, o...)
}

// crashScenario: the worked example (one match, four invoices), a second
// single-payout deposit, and two equal payouts on one day against one deposit
// (an ambiguous exception), fed and ready to reconcile.
func crashScenario(t *testing.T) (*world, time.Time) {
	w := newWorld(t)
	today := time.Now().UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	var items []payouts.Item
	for i := 1; i <= 4; i++ {
		id := w.paidInvoice(fmt.Sprintf("INV-%d", i), 100000, fmt.Sprintf("txn_ch%d", i))
		items = append(items, charge(fmt.Sprintf("txn_ch%d", i), 100000, 2500, id))
	}
	items = append(items, payouts.Item{SourceID: "txn_climate", Type: payouts.ItemClimate, Amount: -1000, Net: -1000, Currency: "USD"})
	w.payout("po_example", today, items...)
	w.payout("po_second", today, charge("txn_s1", 51500, 1500, w.paidInvoice("INV-5", 51500, "txn_s1")))
	w.payout("po_twin_a", today, charge("txn_a", 20000, 0, ""))
	w.payout("po_twin_b", today, charge("txn_b", 20000, 0, ""))
	srv := w.env.Server("bank-feed")
	res := w.do(srv.URL, "POST", "/bank-transactions", page([]map[string]any{
		plaid("dep_example", "-3890.00", today, "STRIPE TRANSFER"),
		plaid("dep_second", "-500.00", today, "STRIPE TRANSFER"),
		plaid("dep_twin", "-200.00", today, "STRIPE TRANSFER"),
	}), nil)
	if res.Status != 200 {
		t.Fatalf("feed: %d %s", res.Status, res.Body)
	}
	return w, today
}

// snapshot renders the reconciliation's outcome without generated IDs or times.
func snapshot(t *testing.T, w *world, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	s := w.service(now, nil)
	ms, _, err := s.Matches(ctx, w.pid, w.cid, reconsvc.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	jes, _, err := s.JournalEntries(ctx, w.pid, w.cid, reconsvc.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	exs, _, err := s.Exceptions(ctx, w.pid, w.cid, reconsvc.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range ms {
		lines = append(lines, fmt.Sprintf("match %s %v %v %d", m.Kind, m.BankTransactionIDs, m.PayoutIDs, m.Amount))
	}
	for _, e := range jes {
		var parts []string
		for _, l := range e.Lines {
			parts = append(parts, fmt.Sprintf("%s:%d/%d", l.Account, l.Debit, l.Credit))
		}
		sort.Strings(parts)
		lines = append(lines, fmt.Sprintf("entry %s %s %s", e.Kind, e.PayoutID, strings.Join(parts, " ")))
	}
	for _, x := range exs {
		lines = append(lines, fmt.Sprintf("exception %s %s %v %v %d", x.Reason, x.Status, x.BankTransactionIDs, x.PayoutIDs, x.Amount))
	}
	list, _, err := w.inv.List(ctx, w.pid, w.cid, invoices.Filter{}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range list {
		lines = append(lines, fmt.Sprintf("invoice %s %s", inv.Number, inv.Status))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestCrashAtEveryWriteThenRerun stops a reconcile run after each of its writes
// in turn, reruns it, and requires the same end state as one clean run.
func TestCrashAtEveryWriteThenRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	ctx := context.Background()
	clean, now := crashScenario(t)
	counter := &crashAfter{API: clean.env.Store.DB, n: 1 << 30}
	sum, err := clean.service(now, counter).Reconcile(ctx, clean.pid, clean.cid, false)
	if err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, clean, now)
	if sum.Matched != 2 || !strings.Contains(want, "exception ambiguous") || !strings.Contains(want, "invoice INV-1 reconciled") {
		t.Fatalf("clean run: %+v\n%s", sum, want)
	}
	total := counter.writes.Load()
	t.Logf("crash points: a clean run makes %d writes; crashing after each of them", total)
	for n := int64(0); n < total; n++ {
		t.Run(fmt.Sprintf("crash after write %d", n), func(t *testing.T) {
			w, now := crashScenario(t)
			if _, err := w.service(now, &crashAfter{API: w.env.Store.DB, n: n}).Reconcile(ctx, w.pid, w.cid, false); !errors.Is(err, errCrash) {
				t.Fatalf("run did not crash: %v", err)
			}
			if _, err := w.service(now, nil).Reconcile(ctx, w.pid, w.cid, false); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if got := snapshot(t, w, now); got != want {
				t.Fatalf("end state differs from a clean run\n got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestConcurrentRunsOneEffect: several reconcile runs for one company at once
// produce exactly the state of one run (no duplicate matches or entries).
func TestConcurrentRunsOneEffect(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	ctx := context.Background()
	w, now := crashScenario(t)
	ref, refNow := crashScenario(t)
	if _, err := ref.service(refNow, nil).Reconcile(ctx, ref.pid, ref.cid, false); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, ref, refNow)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.service(now, nil).Reconcile(ctx, w.pid, w.cid, false); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Logf("a concurrent run gave way: %v", err) // allowed: a loser may fail cleanly, never double-book
	}
	// Whatever the interleaving, one more run settles it, and the outcome is one run's.
	if _, err := w.service(now, nil).Reconcile(ctx, w.pid, w.cid, false); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, w, now); got != want {
		t.Fatalf("concurrent runs differ from one run\n got:\n%s\nwant:\n%s", got, want)
	}
}
