package plaid_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/plaidfn"
	"github.com/payrecon/payrecon/shared/app/reconfn"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/local/plaidfake"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/plaiditems"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/secrets"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	clientID = "plaid-client-1"
	secret   = "plaid-sandbox-secret-9f3a"
)

type world struct {
	t             testing.TB
	env           *testenv.Env
	fake          *plaidfake.Fake
	srv           *httptest.Server
	pid, key, cid string
}

// newWorld starts the fake and the functions; setup runs on the Env before
// the functions are built (their services read its Config once).
func newWorld(t testing.TB, setup ...func(*testenv.Env)) *world {
	t.Helper()
	fake, err := plaidfake.New(t, clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	fsrv := httptest.NewServer(fake)
	t.Cleanup(fsrv.Close)
	env := testenv.New(t, func(c *app.Config) { c.PlaidBaseURL = fsrv.URL })
	pid, key := env.Partner("Acme Books")
	co, _, err := env.Companies.Create(context.Background(), pid, "bakery", "Bakery")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(env)
	}
	plaidfn.LocalQueue(env.Env).Sync = true // a queued sync runs before the webhook answers
	return &world{t: t, env: env, fake: fake, srv: env.Server("plaid", "reports", "reconcile"), pid: pid, key: key, cid: co.ID}
}

func (w *world) do(method, path string, body any) testenv.Response {
	w.t.Helper()
	return testenv.Do(w.t, method, w.srv.URL+path, w.key, body)
}

func (w *world) co(path string) string { return "/v1/companies/" + w.cid + path }

func (w *world) configure() {
	w.t.Helper()
	res := w.do("PUT", "/v1/integrations/plaid", map[string]any{"client_id": clientID, "secret": secret, "environment": "sandbox"})
	if res.Status != 200 {
		w.t.Fatalf("configure: %d %s", res.Status, res.Body)
	}
}

// link runs Link end to end: a link token from us, the user finishing Link at
// the fake, and the public token exchanged through our API.
func (w *world) link() plaiditems.Item {
	w.t.Helper()
	var lt struct {
		LinkToken string `json:"link_token"`
	}
	res := w.do("POST", w.co("/plaid/link-token"), map[string]any{})
	res.JSON(w.t, &lt)
	if res.Status != 200 || lt.LinkToken == "" {
		w.t.Fatalf("link token: %d %s", res.Status, res.Body)
	}
	pt, err := w.fake.CompleteLink(lt.LinkToken, "ins_109508", "acc_checking")
	if err != nil {
		w.t.Fatal(err)
	}
	var it plaiditems.Item
	res = w.do("POST", w.co("/plaid/items"), map[string]any{"public_token": pt})
	res.JSON(w.t, &it)
	if res.Status != 201 || it.ItemID == "" {
		w.t.Fatalf("exchange: %d %s", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), "access-sandbox") {
		w.t.Fatalf("exchange answered the access token: %s", res.Body)
	}
	return it
}

// deliver posts a webhook as Plaid would, to the URL the link token named.
func (w *world) deliver(body []byte, jwt string) testenv.Response {
	w.t.Helper()
	req, _ := http.NewRequest("POST", w.srv.URL+"/plaid?partner_id="+w.pid, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if jwt != "" {
		req.Header.Set("Plaid-Verification", jwt)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return testenv.Response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

func (w *world) syncCalls() int {
	n := 0
	for _, c := range w.fake.Calls() {
		if c == "/transactions/sync" {
			n++
		}
	}
	return n
}

func (w *world) item(id string) plaiditems.Item {
	w.t.Helper()
	it, err := plaidfn.Items(w.env.Env).Get(context.Background(), w.pid, w.cid, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return it
}

func (w *world) bankLines() []reconsvc.BankTransaction {
	w.t.Helper()
	var p reconsvc.Page[reconsvc.BankTransaction]
	w.do("GET", w.co("/bank-transactions?limit=100"), nil).JSON(w.t, &p)
	return p.Data
}

// workedExamplePayout records the published example's $3,890.00 Stripe payout
// (four $1,000.00 invoices, $25.00 fees, $10.00 Climate), itemised and paid.
func (w *world) workedExamplePayout(arrival time.Time) []string {
	w.t.Helper()
	ctx := context.Background()
	inv := stores.Invoices(w.env.Env)
	var ids []string
	items := []payouts.Item{{SourceID: "txn_climate", Type: payouts.ItemClimate, Amount: -1000, Net: -1000, Currency: "USD"}}
	for i := 1; i <= 4; i++ {
		n := "INV-000" + string(rune('0'+i))
		in, _, err := inv.Create(ctx, w.pid, w.cid, invoices.Input{ExternalID: n, Number: n, Customer: "c", Amount: 100000, Currency: "USD", IssuedAt: "2026-10-01", DueAt: "2026-11-01"})
		if err != nil {
			w.t.Fatal(err)
		}
		tx, _, err := inv.ApplyPayment(ctx, in, invoices.Received{PaymentID: "txn_ch" + n, State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd"})
		if err != nil {
			w.t.Fatal(err)
		}
		if err := inv.DB.Transact(ctx, tx); err != nil {
			w.t.Fatal(err)
		}
		ids = append(ids, in.ID)
		items = append(items, payouts.Item{SourceID: "txn_ch" + n, Type: payouts.ItemCharge, Amount: 100000, Fee: 2500, Net: 97500, Currency: "USD", InvoiceID: in.ID})
	}
	ps := stores.Payouts(w.env.Env)
	p := payouts.Payout{PartnerID: w.pid, CompanyID: w.cid, ID: "po_worked_example", Provider: payouts.Stripe, AccountID: "acct_demo",
		Amount: payouts.SumNet(items), Currency: "USD", Status: payouts.StatusPaid, Automatic: true,
		ArrivalDate: arrival.Format(time.DateOnly), Descriptor: "BAKERY ONLINE", UpdatedAt: time.Now().UTC()}
	if p.Amount != 389000 {
		w.t.Fatalf("worked example payout %d", p.Amount)
	}
	if err := ps.Upsert(ctx, p); err != nil {
		w.t.Fatal(err)
	}
	if st, err := ps.SetItems(ctx, p, items); err != nil || st != payouts.ItemisationComplete {
		w.t.Fatalf("items: %s %v", st, err)
	}
	return ids
}

func txn(id, amount string, day time.Time, name string) plaidfake.Txn {
	return plaidfake.Txn{ID: id, AccountID: "acc_checking", Amount: amount, Date: day.Format(time.DateOnly), Name: name}
}

// TestWorkedExampleThroughPlaid: configure Plaid, link a bank, and the worked
// example's $3,890.00 deposit arrives by a signed SYNC_UPDATES_AVAILABLE (no
// push), is pulled in pages and matched to the payout.
func TestWorkedExampleThroughPlaid(t *testing.T) {
	w := newWorld(t)
	plaidfn.Service(w.env.Env).PageSize = 2 // several pages from a few lines
	w.configure()
	var st map[string]any
	res := w.do("GET", "/v1/integrations/plaid", nil)
	res.JSON(t, &st)
	if res.Status != 200 || st["secret_last4"] != "9f3a" || strings.Contains(string(res.Body), secret) || !strings.Contains(st["webhook_url"].(string), "/plaid?partner_id="+w.pid) {
		t.Fatalf("masked read-back: %d %s", res.Status, res.Body)
	}
	it := w.link()
	if got := w.fake.WebhookURL(it.ItemID); !strings.HasSuffix(got, "/plaid?partner_id="+w.pid) {
		t.Fatalf("link token webhook %q", got)
	}
	var list struct {
		Data []plaiditems.Item `json:"data"`
	}
	w.do("GET", w.co("/plaid/items"), nil).JSON(t, &list)
	if len(list.Data) != 1 || list.Data[0].InstitutionID != "ins_109508" || len(list.Data[0].Accounts) != 1 || list.Data[0].Status != "active" {
		t.Fatalf("items: %+v", list)
	}

	today := time.Now().UTC()
	invs := w.workedExamplePayout(today)
	w.fake.Add(it.ItemID,
		txn("tx_coffee", "4.50", today, "COFFEE"),
		txn("tx_rent", "1200.00", today, "RENT"),
		plaidfake.Txn{ID: "tx_dep", AccountID: "acc_checking", Amount: "-3890.00", Date: today.Format(time.DateOnly), Name: "STRIPE TRANSFER", Merchant: "Stripe"},
		txn("tx_fee", "12.00", today, "BANK FEE"),
		txn("tx_lunch", "18.25", today, "LUNCH"))
	before := w.syncCalls()
	body, jwt := w.fake.Webhook(w.fake.SyncUpdatesAvailable(it.ItemID))
	if res := w.deliver(body, jwt); res.Status != 200 || !strings.Contains(string(res.Body), "sync_queued") {
		t.Fatalf("webhook: %d %s", res.Status, res.Body)
	}
	if got := w.syncCalls() - before; got != 3 { // 5 lines in pages of 2
		t.Fatalf("sync calls %d, want 3", got)
	}
	if n := len(w.bankLines()); n != 5 {
		t.Fatalf("bank lines %d, want 5", n)
	}
	var matches reconsvc.Page[reconsvc.Match]
	w.do("GET", w.co("/matches"), nil).JSON(t, &matches)
	if len(matches.Data) != 1 || matches.Data[0].Amount != 389000 || matches.Data[0].PayoutIDs[0] != "po_worked_example" || matches.Data[0].BankTransactionIDs[0] != "tx_dep" {
		t.Fatalf("matches: %+v", matches.Data)
	}
	for _, id := range invs {
		if inv, err := stores.Invoices(w.env.Env).Get(context.Background(), w.pid, w.cid, id); err != nil || inv.Status != invoices.StatusReconciled {
			t.Fatalf("invoice %s: %s %v", id, inv.Status, err)
		}
	}
	cursor := w.item(it.ItemID).Cursor
	if cursor == "" {
		t.Fatal("cursor not stored after the update")
	}
	// The same webhook again (Plaid retries): one empty page, nothing changes.
	before = w.syncCalls()
	if res := w.deliver(body, jwt); res.Status != 200 {
		t.Fatalf("again: %d %s", res.Status, res.Body)
	}
	if w.syncCalls()-before != 1 || len(w.bankLines()) != 5 || w.item(it.ItemID).Cursor != cursor {
		t.Fatalf("a repeated webhook changed something")
	}
	if v := w.fake.Violations(); len(v) > 0 {
		t.Fatalf("contract violations: %v", v)
	}
}

// TestWebhookVerification: every delivery that fails Plaid's verification is
// answered the same 401 and queues nothing.
func TestWebhookVerification(t *testing.T) {
	w := newWorld(t)
	w.configure()
	it := w.link()
	body, good := w.fake.Webhook(w.fake.SyncUpdatesAvailable(it.ItemID))
	other, err := plaidfake.New(t, clientID, secret) // same kid scheme, another key
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	forgedSig := strings.Split(other.Sign(body, time.Now()), ".")
	cases := []struct {
		name string
		body []byte
		jwt  func() string
	}{
		{"missing header", body, func() string { return "" }},
		{"not a JWT", body, func() string { return "abc.def" }},
		{"forged signature", body, func() string { return parts[0] + "." + parts[1] + "." + forgedSig[2] }},
		{"unknown kid", body, func() string { return other.Sign(body, time.Now()) }},
		{"stale iat", body, func() string { return w.fake.Sign(body, time.Now().Add(-6*time.Minute)) }},
		{"body changed", []byte(strings.Replace(string(body), "true", "false", 1)), func() string { return good }},
		{"alg none", body, func() string { return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "." }},
	}
	before := w.syncCalls()
	var first []byte
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := w.deliver(tc.body, tc.jwt())
			if res.Status != 401 {
				t.Fatalf("status %d %s", res.Status, res.Body)
			}
			if first == nil {
				first = res.Body
			} else if string(res.Body) != string(first) {
				t.Fatalf("answers differ: %s vs %s", res.Body, first)
			}
		})
	}
	if w.syncCalls() != before {
		t.Fatalf("a rejected webhook queued a sync")
	}
	// The unknown partner looks the same.
	req, _ := http.NewRequest("POST", w.srv.URL+"/plaid?partner_id=nobody", strings.NewReader(string(body)))
	req.Header.Set("Plaid-Verification", good)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Fatalf("unknown partner: %v %v", res, err)
	}
	// Key rotation: a webhook with the new key makes the cached old key be
	// read again; Plaid now serves it with expired_at set, so it is refused.
	old := w.fake.Sign(body, time.Now())
	if res := w.deliver(body, old); res.Status != 200 {
		t.Fatalf("before rotation: %d %s", res.Status, res.Body)
	}
	if err := w.fake.RotateKey(); err != nil {
		t.Fatal(err)
	}
	body2, jwt := w.fake.Webhook(w.fake.SyncUpdatesAvailable(it.ItemID))
	if res := w.deliver(body2, jwt); res.Status != 200 {
		t.Fatalf("after rotation: %d %s", res.Status, res.Body)
	}
	if res := w.deliver(body, w.fake.SignWith(0, body, time.Now())); res.Status != 401 {
		t.Fatalf("expired key accepted: %d %s", res.Status, res.Body)
	}
}

// TestMutationDuringPagination: Plaid's data changes mid-update; the loop
// restarts from the update's first cursor and ends with the changed line.
func TestMutationDuringPagination(t *testing.T) {
	w := newWorld(t)
	plaidfn.Service(w.env.Env).PageSize = 2
	w.configure()
	it := w.link()
	day := time.Now().UTC()
	w.fake.Add(it.ItemID, txn("t1", "1.00", day, "A"), txn("t2", "2.00", day, "B"), txn("t3", "3.00", day, "C"), txn("t4", "4.00", day, "D"), txn("t5", "5.00", day, "E"))
	w.fake.MutateDuringPagination(it.ItemID, txn("t1", "1.50", day, "A"))
	first := w.item(it.ItemID).Cursor
	before := w.syncCalls()
	res, err := plaidfn.Service(w.env.Env).Sync(context.Background(), w.pid, w.cid, it.ItemID)
	if err != nil || res.Restarts != 1 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	// page 1 (ok), page 2 (mutation) | restart from the first cursor: 3 pages over 6 changes.
	if got := w.syncCalls() - before; got != 5 {
		t.Fatalf("sync calls %d, want 5", got)
	}
	lines := w.bankLines()
	amt := map[string]int64{}
	for _, l := range lines {
		amt[l.ID] = l.Amount
	}
	if len(lines) != 5 || amt["t1"] != -150 { // money out is negative in the books
		t.Fatalf("lines after restart: %+v", amt)
	}
	if c := w.item(it.ItemID).Cursor; c == first || c == "" {
		t.Fatalf("cursor %q", c)
	}
}

// crashingFeed applies pages through the real feed, then fails once after the
// nth page, as a process dying before the cursor write would.
type crashingFeed struct {
	next  plaidFeed
	after int
	seen  int
}

type plaidFeed interface {
	Ingest(ctx context.Context, pid, cid string, page recon.SyncPage) (reconsvc.FeedResult, error)
}

func (c *crashingFeed) Ingest(ctx context.Context, pid, cid string, page recon.SyncPage) (reconsvc.FeedResult, error) {
	r, err := c.next.Ingest(ctx, pid, cid, page)
	c.seen++
	if err == nil && c.seen == c.after {
		return r, errors.New("crash after the page was applied")
	}
	return r, err
}

// TestCrashBetweenPageAndCursor: a sync dies after applying a page and before
// the cursor is written; the next attempt re-pulls from the stored cursor,
// applies the same pages again without double-counting, and completes.
func TestCrashBetweenPageAndCursor(t *testing.T) {
	w := newWorld(t)
	svc := plaidfn.Service(w.env.Env)
	svc.PageSize = 2
	w.configure()
	it := w.link()
	today := time.Now().UTC()
	w.workedExamplePayout(today)
	w.fake.Add(it.ItemID, txn("c1", "1.00", today, "A"), plaidfake.Txn{ID: "c_dep", AccountID: "acc_checking", Amount: "-3890.00", Date: today.Format(time.DateOnly), Name: "STRIPE TRANSFER"}, txn("c3", "3.00", today, "C"))
	first := w.item(it.ItemID).Cursor
	real := svc.Feed
	svc.Feed = &crashingFeed{next: real, after: 2}
	if _, err := svc.Sync(context.Background(), w.pid, w.cid, it.ItemID); err == nil {
		t.Fatal("the crash did not surface")
	}
	if c := w.item(it.ItemID).Cursor; c != first {
		t.Fatalf("cursor moved before the update was whole: %q", c)
	}
	svc.Feed = real
	res, err := svc.Sync(context.Background(), w.pid, w.cid, it.ItemID)
	if err != nil || res.Pages != 2 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if n := len(w.bankLines()); n != 3 {
		t.Fatalf("lines %d, want 3", n)
	}
	var matches reconsvc.Page[reconsvc.Match]
	w.do("GET", w.co("/matches"), nil).JSON(t, &matches)
	if len(matches.Data) != 1 || matches.Data[0].Amount != 389000 {
		t.Fatalf("matches: %+v", matches.Data)
	}
}

// TestItemLoginRequired: a signed ITEM ERROR (ITEM_LOGIN_REQUIRED) marks the
// Item and raises an exception the partner acts on; syncs stop until repair,
// and reconcile runs leave the exception open.
func TestItemLoginRequired(t *testing.T) {
	w := newWorld(t)
	w.configure()
	it := w.link()
	body, jwt := w.fake.Webhook(w.fake.ItemError(it.ItemID, "ITEM_LOGIN_REQUIRED"))
	if res := w.deliver(body, jwt); res.Status != 200 {
		t.Fatalf("webhook: %d %s", res.Status, res.Body)
	}
	if got := w.item(it.ItemID); got.Status != plaiditems.StatusLoginRequired || got.ErrorCode != "ITEM_LOGIN_REQUIRED" {
		t.Fatalf("item: %+v", got)
	}
	exceptions := func() []reconsvc.Exception {
		var p reconsvc.Page[reconsvc.Exception]
		w.do("GET", w.co("/exceptions"), nil).JSON(t, &p)
		return p.Data
	}
	x := exceptions()
	if len(x) != 1 || x[0].Reason != "bank_connection_login_required" || !strings.Contains(x[0].Message, it.ItemID) {
		t.Fatalf("exceptions: %+v", x)
	}
	if res := w.do("POST", w.co("/reconcile"), nil); res.Status != 200 {
		t.Fatalf("reconcile: %d %s", res.Status, res.Body)
	}
	if len(exceptions()) != 1 {
		t.Fatal("a reconcile run resolved the Plaid exception")
	}
	outboxtest.One(t, w.env.Store, w.pid, w.cid, outbox.ExceptionOpened, x[0].ID, x[0])
	// The same webhook again: still one exception, announced once.
	if res := w.deliver(body, jwt); res.Status != 200 || len(exceptions()) != 1 {
		t.Fatalf("repeat: %d %d", res.Status, len(exceptions()))
	}
	outboxtest.Count(t, w.env.Store, w.pid, outbox.ExceptionOpened, x[0].ID, 1)
	before := w.syncCalls()
	body, jwt = w.fake.Webhook(w.fake.SyncUpdatesAvailable(it.ItemID))
	w.deliver(body, jwt)
	if w.syncCalls() != before {
		t.Fatal("synced an Item that needs its user")
	}
	// Update mode: a link token for this Item.
	if res := w.do("POST", w.co("/plaid/link-token"), map[string]any{"item_id": it.ItemID}); res.Status != 200 {
		t.Fatalf("update-mode link token: %d %s", res.Status, res.Body)
	}
	// The user repaired it: resolved and announced once, however often Plaid says so.
	w.fake.SetItemError(it.ItemID, "")
	repaired := map[string]any{"webhook_type": "ITEM", "webhook_code": "LOGIN_REPAIRED", "item_id": it.ItemID, "environment": "sandbox"}
	for i := 0; i < 2; i++ {
		body, jwt := w.fake.Webhook(repaired)
		if res := w.deliver(body, jwt); res.Status != 200 {
			t.Fatalf("repaired: %d %s", res.Status, res.Body)
		}
	}
	var resolved reconsvc.Page[reconsvc.Exception]
	w.do("GET", w.co("/exceptions?status=resolved"), nil).JSON(t, &resolved)
	if len(resolved.Data) != 1 || len(exceptions()) != 0 {
		t.Fatalf("resolved %+v", resolved.Data)
	}
	outboxtest.One(t, w.env.Store, w.pid, w.cid, outbox.ExceptionResolved, x[0].ID, resolved.Data[0])
}

// TestRemoveItem: DELETE calls /item/remove, deletes the token and the record;
// later webhooks for it change nothing.
func TestRemoveItem(t *testing.T) {
	w := newWorld(t)
	w.configure()
	it := w.link()
	if res := w.do("DELETE", w.co("/plaid/items/"+it.ItemID), nil); res.Status != 204 {
		t.Fatalf("remove: %d %s", res.Status, res.Body)
	}
	if !w.fake.Removed(it.ItemID) {
		t.Fatal("/item/remove not called")
	}
	if _, err := w.env.Secrets.Get(context.Background(), secrets.Name(w.env.Cfg.Stage, w.pid, "plaid-item/"+it.ItemID)); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("access token secret still there: %v", err)
	}
	var list struct {
		Data []plaiditems.Item `json:"data"`
	}
	w.do("GET", w.co("/plaid/items"), nil).JSON(t, &list)
	if len(list.Data) != 0 {
		t.Fatalf("items: %+v", list.Data)
	}
	before := w.syncCalls()
	body, jwt := w.fake.Webhook(w.fake.SyncUpdatesAvailable(it.ItemID))
	if res := w.deliver(body, jwt); res.Status != 200 || !strings.Contains(string(res.Body), "unknown_item") || w.syncCalls() != before {
		t.Fatalf("webhook after removal: %d %s", res.Status, res.Body)
	}
	if res := w.do("DELETE", w.co("/plaid/items/"+it.ItemID), nil); res.Status != 404 {
		t.Fatalf("second remove: %d", res.Status)
	}
}

// TestScheduleSyncsStaleItems: with no webhook at all, the reconcile schedule
// syncs Items not synced within the interval, and the run follows the sync.
func TestScheduleSyncsStaleItems(t *testing.T) {
	w := newWorld(t)
	w.configure()
	it := w.link()
	today := time.Now().UTC()
	w.workedExamplePayout(today)
	w.fake.Add(it.ItemID, plaidfake.Txn{ID: "s_dep", AccountID: "acc_checking", Amount: "-3890.00", Date: today.Format(time.DateOnly), Name: "STRIPE TRANSFER"})
	tick := reconfn.ReconcileEntry(w.env.Env, "", plaidfn.LocalQueue(w.env.Env))
	run := func() reconsvc.ScheduleResult {
		out, err := tick(context.Background(), json.RawMessage(`{"source":"payrecon.schedule"}`))
		if err != nil {
			t.Fatal(err)
		}
		return out.(reconsvc.ScheduleResult)
	}
	if r := run(); r.PlaidSyncs != 0 {
		t.Fatalf("a fresh Item was synced again: %+v", r)
	}
	w.env.Cfg.PlaidSyncInterval = time.Nanosecond // every Item is stale now
	if r := run(); r.PlaidSyncs != 1 {
		t.Fatalf("schedule: %+v", r)
	}
	var matches reconsvc.Page[reconsvc.Match]
	w.do("GET", w.co("/matches"), nil).JSON(t, &matches)
	if len(matches.Data) != 1 || !slices.Equal(matches.Data[0].BankTransactionIDs, []string{"s_dep"}) {
		t.Fatalf("matches: %+v", matches.Data)
	}
}

// TestLongUpdateContinues: an update longer than one job's page budget goes
// on in a new job from its progress cursor; a mutation during that update
// still restarts from the update's first cursor, and the update cursor is
// written only when the whole update is in.
func TestLongUpdateContinues(t *testing.T) {
	w := newWorld(t)
	svc := plaidfn.Service(w.env.Env)
	svc.PageSize, svc.MaxPages = 2, 2
	w.configure()
	it := w.link()
	first := w.item(it.ItemID).Cursor
	day := time.Now().UTC()
	w.fake.Add(it.ItemID, txn("l1", "1.00", day, "A"), txn("l2", "2.00", day, "B"), txn("l3", "3.00", day, "C"), txn("l4", "4.00", day, "D"), txn("l5", "5.00", day, "E"))
	w.fake.MutateDuringPagination(it.ItemID, txn("l1", "1.50", day, "A"))
	before := w.syncCalls()
	res, err := svc.Sync(context.Background(), w.pid, w.cid, it.ItemID) // continuations run on the (synchronous) queue
	if err != nil || !res.Continued {
		t.Fatalf("sync: %+v %v", res, err)
	}
	// job 1: page 1, mutation on page 2, restart from the first cursor, 2 pages
	// (budget spent); job 2: from the progress cursor, the last page.
	if got := w.syncCalls() - before; got != 5 {
		t.Fatalf("sync calls %d, want 5", got)
	}
	got := w.item(it.ItemID)
	if got.PendingCursor != "" || got.Cursor == first || got.Cursor == "" {
		t.Fatalf("cursors after the update: %+v", got)
	}
	amt := map[string]int64{}
	for _, l := range w.bankLines() {
		amt[l.ID] = l.Amount
	}
	if len(amt) != 5 || amt["l1"] != -150 {
		t.Fatalf("lines: %+v", amt)
	}
}

// TestSyncQueuesReconcileRun: deployed (RECONCILE_QUEUE_URL set), a finished
// sync hands the company's run to the reconcile function's queue, one message
// per sync, instead of reconciling in the plaid function (which does not link
// the matcher). Locally the same run happens in process (the other tests).
func TestSyncQueuesReconcileRun(t *testing.T) {
	ctx := context.Background()
	var queueURL string
	w := newWorld(t, func(env *testenv.Env) {
		env.Cfg.SQSEndpoint = env.Stack.SecretsURL // moto_server serves SQS too
		out, err := sqsclient.New(env.Env).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(env.Cfg.Table + "-reconcile")})
		if err != nil {
			t.Fatal(err)
		}
		queueURL = aws.ToString(out.QueueUrl)
		env.Cfg.ReconcileQueueURL = queueURL
	})
	received := func() []reconsvc.CompanyRef {
		t.Helper()
		var refs []reconsvc.CompanyRef
		for {
			out, err := sqsclient.New(w.env.Env).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				return refs
			}
			for _, m := range out.Messages {
				ref, err := reconsvc.DecodeRef(aws.ToString(m.Body))
				if err != nil {
					t.Fatal(err)
				}
				refs = append(refs, ref)
				if _, err := sqsclient.New(w.env.Env).DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	w.configure()
	it := w.link() // its first sync runs at once (the in-process sync queue)
	want := reconsvc.CompanyRef{PartnerID: w.pid, CompanyID: w.cid}
	if got := received(); len(got) != 1 || got[0] != want {
		t.Fatalf("after the first sync: %+v, want one %+v", got, want)
	}
	w.fake.Add(it.ItemID, txn("dep1", "-38.90", time.Now().UTC(), "STRIPE PAYOUT"))
	if _, err := plaidfn.Service(w.env.Env).Sync(ctx, w.pid, w.cid, it.ItemID); err != nil {
		t.Fatal(err)
	}
	if got := received(); len(got) != 1 || got[0] != want {
		t.Fatalf("after a sync with a new line: %+v, want one %+v", got, want)
	}
	if lines := w.bankLines(); len(lines) != 1 {
		t.Fatalf("bank lines %+v", lines)
	}
}
