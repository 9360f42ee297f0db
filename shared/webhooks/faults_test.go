package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/faults"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/payouts"
)

// chaos decides, per AWS call and from a fixed seed, whether to fail it, and
// injects the failure through shared/local/faults (a one-shot rule consumed by that
// very call). Calls it lets through go straight to the network.
type chaos struct {
	ft      *faults.Transport
	mu      sync.Mutex
	rng     *rand.Rand
	on      bool
	rate    float64        // share of SDK invocations whose first attempt fails
	persist float64        // share of those that fail every attempt
	plan    map[string]int // invocation -> attempts left to fail (-1: all)
	calls   map[string]int
	faulted map[string]int
}

// chaosKinds lists what each operation may suffer. Conditional-check failures
// only where a conditional write is sent (PutItem, TransactWriteItems).
var chaosKinds = map[string][]faults.Kind{
	"GetItem":            {faults.Throttle, faults.Internal, faults.Timeout},
	"Query":              {faults.Throttle, faults.Internal, faults.Timeout},
	"PutItem":            {faults.Throttle, faults.Internal, faults.Timeout, faults.ConditionFailed},
	"TransactWriteItems": {faults.Throttle, faults.Internal, faults.Timeout, faults.ConditionFailed},
	"UpdateItem":         {faults.Throttle, faults.Internal, faults.Timeout},
	"DeleteItem":         {faults.Throttle, faults.Internal, faults.Timeout},
	"BatchWriteItem":     {faults.Throttle, faults.Internal, faults.Timeout},
	"GetSecretValue":     {faults.Throttle, faults.Internal, faults.Timeout},
}

func newChaos(seed int64, rate, persist float64) *chaos {
	return &chaos{ft: faults.New(nil), rng: rand.New(rand.NewSource(seed)), rate: rate, persist: persist,
		plan: map[string]int{}, calls: map[string]int{}, faulted: map[string]int{}}
}

func (c *chaos) set(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = on
}

func (c *chaos) injected() int { return len(c.ft.Injected()) }

func (c *chaos) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	c.mu.Lock()
	kinds := chaosKinds[op]
	if !c.on || len(kinds) == 0 {
		c.mu.Unlock()
		return c.ft.Next.RoundTrip(req)
	}
	// One decision per SDK invocation (its retries share the invocation ID):
	// fail its first attempt, and sometimes every attempt, so the SDK gives up
	// and the failure reaches our code.
	inv := req.Header.Get("Amz-Sdk-Invocation-Id")
	first := !strings.Contains(req.Header.Get("Amz-Sdk-Request"), "attempt=") ||
		strings.Contains(req.Header.Get("Amz-Sdk-Request"), "attempt=1;")
	if first {
		c.calls[op]++
		switch r := c.rng.Float64(); {
		case r < c.rate*c.persist:
			c.plan[inv] = -1
		case r < c.rate:
			c.plan[inv] = 1
		}
	}
	k, fail := chaosKinds[op][0], false
	if n := c.plan[inv]; n != 0 {
		fail = true
		if n > 0 {
			c.plan[inv] = n - 1
		}
		k = kinds[c.rng.Intn(len(kinds))]
	}
	if !fail {
		c.mu.Unlock()
		return c.ft.Next.RoundTrip(req)
	}
	c.faulted[op+":"+k.String()]++
	// Held across the call so no other request consumes the one-shot rule.
	defer c.mu.Unlock()
	c.ft.Clear()
	c.ft.Add(faults.Rule{Operation: op, Kind: k, Times: 1})
	return c.ft.RoundTrip(req)
}

// flakyStripe fails the first n balance transaction listings (500, then 429
// alternately) and passes everything else to the BalanceFake (or stripe-mock
// before the fake is known).
type flakyStripe struct {
	mu       sync.Mutex
	next     http.Handler
	fallback http.Handler
	left     int
	failed   int
}

func (f *flakyStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	next := f.next
	if next == nil {
		next = f.fallback
	}
	fail := r.URL.Path == "/v1/balance_transactions" && f.left > 0
	if fail {
		f.left--
		f.failed++
	}
	n := f.failed
	f.mu.Unlock()
	if !fail {
		next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if n%2 == 0 {
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"type":"rate_limit_error","message":"injected rate limit"}}`)
		return
	}
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprint(w, `{"error":{"type":"api_error","message":"injected internal error"}}`)
}

func (f *flakyStripe) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// replayWorld is a world whose queue runs jobs synchronously (so the sequence
// of AWS calls, and so the seeded faults, is deterministic) and retries a job
// up to 10 times before dead-lettering it.
func replayWorld(t *testing.T, opts ...func(*app.Config)) *world {
	w := newWorld(t, opts...)
	q := workerfn.LocalQueue(w.env.Env)
	q.Sync, q.MaxAttempts, q.Backoff = true, 10, time.Millisecond
	return w
}

// runExample creates the four invoices (fault-free) and returns the example's
// events with fixed timestamps, so two runs differ only in generated IDs.
func (w *world) runExample(t *testing.T, at time.Time) ([][]byte, []string) {
	t.Helper()
	var md [4]map[string]string
	var invIDs []string
	for i := 1; i <= 4; i++ {
		inv := w.createInvoice(t, "ext-"+itoa(i), "INV-000"+itoa(i))
		invIDs = append(invIDs, inv.ID)
		md[i-1] = map[string]string{"invoice_id": inv.ID}
	}
	md[2] = map[string]string{"invoice_number": "INV-0003"} // resolved by a read, not optimistically
	evs, txns := example.WorkedExample(acct, md, at)
	w.fake.Set(acct, example.PayoutID, txns)
	return evs, invIDs
}

// volatile attributes: write times and TTLs differ between any two runs.
func volatile(name string) bool {
	return name == "ttl" || name == "at" || strings.HasSuffix(name, "_at")
}

// dumpTable returns every item of the (per-test) table, normalised: the run's
// generated IDs replaced by placeholders, write timestamps dropped, sorted by pk/sk.
func dumpTable(t *testing.T, w *world, invIDs []string) []string {
	t.Helper()
	repl := []string{w.pid, "<partner>", w.cid, "<company>"}
	for i, id := range invIDs {
		repl = append(repl, id, fmt.Sprintf("<inv%d>", i+1))
	}
	r := strings.NewReplacer(repl...)
	var rows []string
	var start map[string]types.AttributeValue
	for {
		out, err := w.env.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.env.Cfg.Table),
			ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, it := range out.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			pk, _ := m["pk"].(string)
			if strings.HasPrefix(pk, "APIKEY#") || strings.HasPrefix(pk, "KEY#") {
				continue // the partner's API key hash: random per run
			}
			sk, _ := m["sk"].(string)
			if strings.HasPrefix(sk, "INTEGRATION#") {
				delete(m, "account_id") // stripe-mock answers a random account per key check
			}
			if g, _ := m["gsi1pk"].(string); strings.HasPrefix(g, "RECONDUE#") {
				m["gsi1pk"] = "RECONDUE#<shard>" // a hash of the run's generated IDs
			}
			if g, _ := m["gsi1pk"].(string); strings.HasPrefix(g, outbox.PendingPrefix) && !strings.HasPrefix(sk, outbox.SKPrefix) {
				// An item's event marker (invoices): the event's ID and shard are
				// the run's; its type must match, so a retried change marks once.
				m["gsi1pk"], m["gsi1sk"] = "<shard>", "<evt>"
			}
			for k := range m {
				if volatile(k) {
					delete(m, k)
				}
			}
			if strings.HasPrefix(sk, outbox.SKPrefix) {
				// An outbox event: its ID, time and pending shard are the run's;
				// its type, object and data (write times aside) must match, one
				// for one, so a retried change never emits twice.
				m["sk"], m["id"], m["gsi1sk"], m["gsi1pk"] = outbox.SKPrefix+"<evt>", "<evt>", "<evt>", "<shard>"
				delete(m, "created")
				var data map[string]any
				if err := json.Unmarshal([]byte(m["data"].(string)), &data); err != nil {
					t.Fatal(err)
				}
				for k := range data {
					if volatile(k) {
						delete(data, k)
					}
				}
				m["data"] = data
			}
			b, _ := json.Marshal(m) // map keys sorted: stable
			rows = append(rows, r.Replace(string(b)))
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	sort.Strings(rows) // pk then sk lead each row
	return rows
}

func TestFaultReplay(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Hour)

	// The fault-free run: what the table must end up as.
	clean := replayWorld(t)
	evs, invIDs := clean.runExample(t, at)
	outcome := map[int]string{}
	for i, ev := range evs {
		r := clean.deliver(t, ev)
		if r.status != 200 || r.res.Duplicate {
			t.Fatalf("clean delivery %d: %d %s", i, r.status, r.body)
		}
		outcome[i] = r.res.Outcome
	}
	want := dumpTable(t, clean, invIDs)
	checkExample(t, clean, want)

	// The faulted run: the same events, each redelivered until 2xx (as Stripe does).
	const seed, rate, persist, maxAttempts = 9, 0.3, 0.3, 10
	ch := newChaos(seed, rate, persist)
	stripeMock := &flakyStripe{left: 6}
	var flakySrv *httptest.Server
	w := replayWorld(t, func(c *app.Config) {
		c.AWSTransport = ch
		st, err := localstack.Start(os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(st.StripeURL)
		stripeMock.fallback = httputil.NewSingleHostReverseProxy(u)
		flakySrv = httptest.NewServer(stripeMock)
		c.StripeAPIURL = flakySrv.URL
	})
	t.Cleanup(flakySrv.Close)
	stripeMock.mu.Lock()
	stripeMock.next = w.fake
	stripeMock.mu.Unlock()
	evs2, invIDs2 := w.runExample(t, at)
	ch.set(true)
	var deliveries, redeliveries, faulted, faulted2xx, non2xx int
	statuses := map[int]int{}
	for i, ev := range evs2 {
		ok := false
		for attempt := 1; attempt <= maxAttempts && !ok; attempt++ {
			before := ch.injected()
			r := w.deliver(t, ev)
			deliveries++
			if attempt > 1 {
				redeliveries++
			}
			hit := ch.injected() > before
			if hit {
				faulted++
			}
			statuses[r.status]++
			switch {
			case r.status/100 == 2:
				ok = true
				if hit {
					faulted2xx++
				}
				// A 2xx must mean the event's effects are committed: never a
				// "duplicate" or a different outcome on its first success.
				if r.res.Duplicate || r.res.Outcome != outcome[i] {
					t.Errorf("event %d attempt %d: 2xx %s, clean run said %q (lost write)", i, attempt, r.body, outcome[i])
				}
			case !hit:
				t.Errorf("event %d attempt %d: %d %s with no fault injected", i, attempt, r.status, r.body)
			default:
				non2xx++
				if r.status < 500 {
					t.Errorf("event %d attempt %d: fault answered %d %s; Stripe would not retry a 4xx", i, attempt, r.status, r.body)
				}
			}
		}
		if !ok {
			t.Fatalf("event %d still failing after %d deliveries", i, maxAttempts)
		}
	}
	ch.set(false)
	if dead := workerfn.LocalQueue(w.env.Env).Dead(); len(dead) > 0 {
		t.Fatalf("jobs dead-lettered under faults: %+v", dead)
	}
	got := dumpTable(t, w, invIDs2)
	if d := diffRows(want, got); d != "" {
		t.Errorf("faulted run's table differs from the fault-free run's (- clean, + faulted):\n%s", d)
	}
	checkExample(t, w, got)
	if w.hook.n() != 4 {
		t.Errorf("payment hook called %d times, want 4", w.hook.n())
	}
	injected := ch.injected()
	if injected < 20 || non2xx == 0 || stripeMock.count() == 0 {
		t.Fatalf("too few faults to prove anything: injected=%d non2xx=%d stripe=%d", injected, non2xx, stripeMock.count())
	}
	var kinds []string
	for k, n := range ch.faulted {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	calls := 0
	for _, n := range ch.calls {
		calls += n
	}
	t.Logf("faults: seed=%d rate=%.2f persist=%.2f aws_calls=%d injected=%d stripe_injected=%d events=%d deliveries=%d redeliveries=%d faulted_deliveries=%d non2xx=%d faulted_2xx_committed=%d lost_writes=0 statuses=%v",
		seed, rate, persist, calls, injected, stripeMock.count(), len(evs2), deliveries, redeliveries, faulted, non2xx, faulted2xx, statuses)
	t.Logf("faults by kind: %s", strings.Join(kinds, " "))
}

// diffRows lists rows only in a (-) or only in b (+).
func diffRows(a, b []string) string {
	in := func(rows []string) map[string]int {
		m := map[string]int{}
		for _, r := range rows {
			m[r]++
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, r := range a {
		if mb[r] == 0 {
			out = append(out, "- "+r)
		}
	}
	for _, r := range b {
		if ma[r] == 0 {
			out = append(out, "+ "+r)
		}
	}
	if len(a) != len(b) && len(out) == 0 {
		out = append(out, fmt.Sprintf("row counts %d != %d (duplicated rows)", len(a), len(b)))
	}
	return strings.Join(out, "\n")
}

// checkExample asserts the example's end state on a dump: four paid invoices,
// one itemised payout of five items summing to 389000, each event recorded once.
func checkExample(t *testing.T, w *world, rows []string) {
	t.Helper()
	// Each event is recorded once: as a marker item, or (payment events) as its
	// ID in the payment item's event_ids.
	recorded := 0
	for _, r := range rows {
		if strings.Contains(r, `"pk":"EVENT#stripe#<partner>#`) {
			recorded++
		}
		var item struct {
			EventIDs []string `json:"event_ids"`
		}
		if json.Unmarshal([]byte(r), &item) == nil {
			recorded += len(item.EventIDs)
		}
	}
	if recorded != 11 {
		t.Errorf("events recorded = %d, want 11", recorded)
	}
	ctx := context.Background()
	po, err := stores.Payouts(w.env.Env).Get(ctx, w.pid, w.cid, example.PayoutID)
	if err != nil {
		t.Fatal(err)
	}
	items, err := stores.Payouts(w.env.Env).Items(ctx, w.pid, w.cid, example.PayoutID)
	if err != nil {
		t.Fatal(err)
	}
	if po.Status != payouts.StatusPaid || po.ItemisationStatus != payouts.ItemisationComplete || len(items) != 5 || payouts.SumNet(items) != 389000 {
		t.Errorf("payout %+v with %d items summing to %d", po, len(items), payouts.SumNet(items))
	}
	res := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/invoices?status=paid", w.key, nil)
	var page struct{ Data []json.RawMessage }
	res.JSON(t, &page)
	if len(page.Data) != 4 {
		t.Errorf("paid invoices = %d: %s", len(page.Data), res.Body)
	}
}

// Fifty deliveries of one event at once: exactly one applies it.
func TestConcurrentDuplicates50(t *testing.T) {
	w := newWorld(t)
	inv := w.createInvoice(t, "ext-c50", "INV-C50")
	ev := event("evt_conc50", "payment_intent.succeeded", acct, time.Now().Unix(),
		paymentIntent("pi_conc50", "succeeded", 100000, map[string]string{"invoice_id": inv.ID}, "card"))
	header := sign(ev, whsec, time.Now())
	before := w.writes.n.Load()
	const n = 50
	var wg sync.WaitGroup
	var fresh, dup, other atomic.Int64
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := post(t, w.srv.URL+"/stripe", ev, "Stripe-Signature", header)
			switch {
			case r.status == 200 && !r.res.Duplicate:
				fresh.Add(1)
			case r.status == 200:
				dup.Add(1)
			default:
				other.Add(1)
				t.Errorf("concurrent delivery: %d %s", r.status, r.body)
			}
		}()
	}
	close(start)
	wg.Wait()
	writes := w.writes.n.Load() - before
	if fresh.Load() != 1 || w.hook.n() != 1 {
		t.Fatalf("applied %d times, hook called %d times; want exactly one effect", fresh.Load(), w.hook.n())
	}
	got := testenv.Do(t, "GET", w.srv.URL+"/v1/companies/"+w.cid+"/invoices/"+inv.ID, w.key, nil)
	if !strings.Contains(string(got.Body), `"status":"paid"`) || !strings.Contains(string(got.Body), `"amount_paid":100000`) {
		t.Fatalf("invoice: %s", got.Body)
	}
	// Each delivery is one conditional transaction; losers fail on the marker
	// (a few may retry on a transaction conflict with the winner).
	if writes < n || writes > 2*n {
		t.Fatalf("%d DynamoDB write requests for %d deliveries", writes, n)
	}
	t.Logf("duplicates: sent=%d applied=%d duplicate=%d errors=%d hook_calls=%d dynamo_writes=%d", n, fresh.Load(), dup.Load(), other.Load(), w.hook.n(), writes)
}
