package webhooks_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/qualpayrecon"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/webhooks"
)

// TestQualpayScheduledPullWithoutWebhooks: a merchant linked through the API
// is backfilled; schedule ticks then keep it current with no webhook at all:
// a quiet tick writes nothing, and a deposit that posts late (inside the
// lookback) is pulled by the next tick. Every request the pull makes is
// checked against Qualpay's OpenAPI by the fake.
func TestQualpayScheduledPullWithoutWebhooks(t *testing.T) {
	fake := qualpayfake.Start(t, qualpayfake.Config{SecurityKey: qpKey})
	w := newWorld(t, func(c *app.Config) { c.QualpayBaseURL = fake.URL })
	ctx := context.Background()
	configureQualpay(t, w)
	mid := qualpayfake.GenMerchantBase
	merchant := strconv.FormatInt(mid, 10)
	fake.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Bakery"})
	today := time.Now().UTC().Truncate(24 * time.Hour)
	g, err := qualpayfake.Generate(qualpayfake.GenConfig{Seed: 3, Merchants: 1, Days: 16, Start: today.AddDate(0, 0, -24), NoRefEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	fake.Seed(g)
	// Invoices named by purchase_id: one paid in full, one only in part.
	var sales []qualpay.SettledTransaction
	for _, tx := range g.Transactions {
		if !strings.HasPrefix(tx.AmtTran.String(), "-") {
			sales = append(sales, tx)
		}
	}
	full, part := sales[0], sales[1]
	mkInvoice := func(tx qualpay.SettledTransaction, extra int64) invoices.Invoice {
		amt, err := tx.AmtTran.Minor("USD")
		if err != nil {
			t.Fatal(err)
		}
		res := testenv.Do(t, "POST", w.srv.URL+"/v1/companies/"+w.cid+"/invoices", w.key, map[string]any{
			"external_id": "ext-" + tx.PurchaseID, "number": tx.PurchaseID, "customer": "Cafe", "amount": amt + extra, "currency": "usd",
			"issued_at": "2026-11-01", "due_at": "2026-11-30"})
		if res.Status != 201 {
			t.Fatalf("create invoice: %d %s", res.Status, res.Body)
		}
		var inv invoices.Invoice
		res.JSON(t, &inv)
		return inv
	}
	invFull, invPart := mkInvoice(full, 0), mkInvoice(part, 100)

	res := testenv.Do(t, "POST", w.env.Server("connections").URL+"/v1/companies/"+w.cid+"/qualpay/link", w.key, map[string]any{"merchant_id": mid})
	if res.Status != 200 && res.Status != 201 {
		t.Fatalf("link: %d %s", res.Status, res.Body)
	}
	workerfn.LocalQueue(w.env.Env).Wait()

	posted := 0
	for _, d := range g.Deposits {
		if d.PostDateActual <= today.Format(time.DateOnly) {
			posted++
		}
	}
	countPayouts := func() (n, complete int) {
		t.Helper()
		ps, err := w.svc.Payouts.ListPaid(ctx, w.pid, w.cid, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.Provider == payouts.Qualpay {
				n++
				if p.ItemisationStatus == payouts.ItemisationComplete {
					complete++
				}
			}
		}
		return n, complete
	}
	t.Run("backfill on link pulls every posted deposit, itemised exactly", func(t *testing.T) {
		n, complete := countPayouts()
		if n != posted || complete != posted {
			t.Fatalf("payouts %d (complete %d), want %d posted deposits", n, complete, posted)
		}
		var ranged bool
		// The first backfill job starts 90 days back; its deposits are read from
		// a week earlier as context for the batch fallback.
		backfillFrom := qualpayrecon.AddBusinessDays(today.AddDate(0, 0, -webhooks.QualpayBackfillDays), -7).Format(time.DateOnly)
		for _, r := range fake.Requests() {
			for _, f := range r.Query["filter"] {
				if strings.HasPrefix(f, "post_date_actual,BETWEEN,"+backfillFrom) {
					ranged = true
				}
			}
		}
		if !ranged {
			t.Fatal("the backfill job did not carry its 90-day range")
		}
	})
	t.Run("purchase_id pays its invoice only in full", func(t *testing.T) {
		got, err := stores.Invoices(w.env.Env).Get(ctx, w.pid, w.cid, invFull.ID)
		if err != nil || got.Status != invoices.StatusPaid || got.PaymentID != full.PgID {
			t.Fatalf("full: %+v %v", got, err)
		}
		got, err = stores.Invoices(w.env.Env).Get(ctx, w.pid, w.cid, invPart.ID)
		if err != nil || got.Status != invoices.StatusPartiallyPaid || got.AmountPaid <= 0 || got.AmountPaid >= got.Amount {
			t.Fatalf("a partial payment is partially_paid, never paid: %+v %v", got, err)
		}
	})
	t.Run("a quiet tick writes nothing and reads only the deposits", func(t *testing.T) {
		before := w.writes.n.Load()
		fake.ResetRequests()
		queued, failed, err := workerfn.QualpayPulls(w.env.Env).Schedule(ctx)
		workerfn.LocalQueue(w.env.Env).Wait()
		if err != nil || queued != 1 || failed != 0 {
			t.Fatalf("schedule: queued %d failed %d err %v", queued, failed, err)
		}
		if n := w.writes.n.Load() - before; n != 0 {
			t.Fatalf("a rerun with nothing new wrote %d times", n)
		}
		if d, tx := fake.Calls("browseDeposits"), fake.Calls("browseTrans"); d != 1 || tx != 0 {
			t.Fatalf("a quiet tick made %d deposit and %d transaction requests, want 1 and 0", d, tx)
		}
	})
	t.Run("a late posting inside the lookback is pulled by the next tick, through 429 and 503", func(t *testing.T) {
		post := today.AddDate(0, 0, -7)
		ref := "99000001"
		fake.SeedTransactions(qualpay.SettledTransaction{RecID: 990001, MerchantID: mid, BatchDate: post.AddDate(0, 0, -3).Format(time.DateOnly),
			BatchID: 99001, AmtTran: amt(t, "120.00"), AmtFunded: amt(t, "120.00"), TranCurrency: "840", FundedCurrency: "840",
			PgID: "late00000000000000000000000000001", ReferenceNumber: ref})
		fake.SeedDeposits(qualpay.Deposit{RecID: 990001, MerchantID: mid, ReferenceNumber: "0" + ref, AmtACH: amt(t, "120.00"),
			ACHDescription: "QUALPAY DEP", PostDateActual: post.Format(time.DateOnly)})
		// Qualpay answers 429 and then 503 once each: the client's retries absorb them.
		fake.InjectFault(qualpayfake.Fault{PathPrefix: "/platform/reporting/deposits", Status: 429, RetryAfter: "0", Times: 1})
		fake.InjectFault(qualpayfake.Fault{PathPrefix: "/platform/reporting/transactions", Status: 503, Times: 1})
		defer fake.ClearFaults()
		if _, _, err := workerfn.QualpayPulls(w.env.Env).Schedule(ctx); err != nil {
			t.Fatal(err)
		}
		workerfn.LocalQueue(w.env.Env).Wait()
		faults := 0
		for _, r := range fake.Requests() {
			if r.Fault {
				faults++
			}
		}
		if faults != 2 {
			t.Fatalf("%d faults answered, want 2", faults)
		}
		p, err := w.svc.Payouts.Get(ctx, w.pid, w.cid, webhooks.DepositPayoutID(merchant, 990001))
		if err != nil || p.Amount != 12000 || p.Currency != "USD" || p.ItemisationStatus != payouts.ItemisationComplete {
			t.Fatalf("late deposit: %+v %v", p, err)
		}
	})
	if v := fake.Violations(); len(v) != 0 {
		t.Fatalf("contract violations: %v", v)
	}
	if dead := workerfn.LocalQueue(w.env.Env).Dead(); len(dead) != 0 {
		t.Fatalf("dead jobs: %v", dead)
	}
}

func amt(t testing.TB, s string) qualpay.Amount {
	a, err := qualpay.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestQualpayMerchantInPayload: Qualpay puts the merchant at the top level,
// on data, or per transaction in data.transactions[]; each shape routes the
// event to its company and queues a pull of the lookback window.
func TestQualpayMerchantInPayload(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	configureQualpay(t, w)
	if _, _, err := w.env.Companies.Connect(ctx, companiesConn(w)); err != nil {
		t.Fatal(err)
	}
	rec := &recordingQueue{}
	w.svc.Queue = rec
	for name, body := range map[string]string{
		"top level":            `{"event":"transaction_settled","merchant_id":` + qpMID + `,"data":{}}`,
		"data object":          `{"event":"transaction_settled","data":{"merchant_id":"` + qpMID + `","pg_id":"abc"}}`,
		"data.transactions[]":  `{"event":"batch_settled","data":{"transactions":[{"pg_id":"a"},{"merchant_id":` + qpMID + `,"pg_id":"b"}]}}`,
		"transactions, string": `{"event":"batch_settled","data":{"transactions":[{"merchant_id":"` + qpMID + `"}]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			rec.jobs = nil
			b := []byte(body)
			r := post(t, w.srv.URL+"/qualpay", b, webhooks.QualpaySignatureHeader, webhooks.SignQualpay(b, qpSecret))
			if r.status != 200 || r.res.Outcome != "applied" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if len(rec.jobs) != 1 || rec.jobs[0].AccountID != qpMID || rec.jobs[0].Since == "" || rec.jobs[0].Until == "" {
				t.Fatalf("jobs %+v", rec.jobs)
			}
		})
	}
}

// configureQualpay stores the partner's Qualpay credentials through the API.
func configureQualpay(t testing.TB, w *world) {
	t.Helper()
	if res := testenv.Do(t, "PUT", w.env.Server("credentials").URL+"/v1/integrations/qualpay", w.key,
		map[string]any{"security_key": qpKey, "integrator_id": 301, "webhook_secret": qpSecret, "environment": "sandbox"}); res.Status != 200 {
		t.Fatalf("configure qualpay: %d %s", res.Status, res.Body)
	}
}

func companiesConn(w *world) companies.Connection {
	return companies.Connection{PartnerID: w.pid, CompanyID: w.cid, Provider: "qualpay", AccountID: qpMID, Method: "linked", ConnectedAt: w.env.Now()}
}

// recordingQueue keeps the jobs instead of running them.
type recordingQueue struct{ jobs []queue.Job }

func (q *recordingQueue) Enqueue(_ context.Context, j queue.Job) error {
	q.jobs = append(q.jobs, j)
	return nil
}

// TestQualpayScheduleAfterLongOutage: a merchant whose last pull is older than
// one job's range (QualpayMaxRangeDays; keys revoked for months, or the
// schedule off) is caught up by the next tick in jobs that can all run,
// covering everything from its cursor's lookback to today.
func TestQualpayScheduleAfterLongOutage(t *testing.T) {
	fake := qualpayfake.Start(t, qualpayfake.Config{SecurityKey: qpKey})
	w := newWorld(t, func(c *app.Config) { c.QualpayBaseURL = fake.URL })
	ctx := context.Background()
	configureQualpay(t, w)
	mid, _ := strconv.ParseInt(qpMID, 10, 64)
	fake.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Bakery"})
	if _, _, err := w.env.Companies.Connect(ctx, companiesConn(w)); err != nil {
		t.Fatal(err)
	}
	puller := func(now time.Time) *webhooks.QualpayPuller {
		p := *workerfn.Worker(w.env.Env).Qualpay.(*webhooks.QualpayPuller)
		p.Now = func() time.Time { return now }
		p.Pulls = &webhooks.QualpayPulls{Store: w.env.Store, Now: p.Now}
		return &p
	}
	// The last pull ran 200 days ago and moved the cursor there.
	then := time.Now().UTC().AddDate(0, 0, -200)
	old := puller(then)
	if err := old.PullDeposits(ctx, old.Pulls.Soon(w.pid, w.cid, qpMID)); err != nil {
		t.Fatal(err)
	}
	rec := &recordingQueue{}
	if _, failed, err := (&webhooks.QualpayPulls{Store: w.env.Store, Queue: rec, Now: time.Now}).Schedule(ctx); err != nil || failed != 0 {
		t.Fatalf("schedule: %d failed, %v", failed, err)
	}
	now := puller(time.Now().UTC())
	want := qualpayrecon.AddBusinessDays(then.Truncate(24*time.Hour), -webhooks.QualpayLookbackBusinessDays).Format(time.DateOnly)
	covered := ""
	for _, j := range rec.jobs {
		if j.PartnerID != w.pid || j.AccountID != qpMID {
			continue
		}
		if covered == "" && j.Since != want {
			t.Errorf("first job from %s, want %s (the cursor's lookback)", j.Since, want)
		}
		if err := now.PullDeposits(ctx, j); err != nil {
			t.Fatalf("job %s..%s cannot run: %v", j.Since, j.Until, err)
		}
		covered = j.Until
	}
	if covered != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("jobs %+v end at %q, want today", rec.jobs, covered)
	}
}
