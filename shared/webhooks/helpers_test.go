package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/webhookfn"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/stripeapi"
	"github.com/payrecon/payrecon/shared/webhooks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	whsec = "whsec_test1234secret"
	acct  = "acct_1WorkedExample01"
)

// world is one partner with Stripe configured and one company connected to acct.
type world struct {
	env     *testenv.Env
	pid     string
	key     string
	cid     string
	srv     *httptest.Server
	writes  *countingDB
	hook    *countingHook
	fake    *example.BalanceFake
	svc     *webhooks.Service
	queue   interface{ Wait() }
	account string
}

// countingDB counts DynamoDB write calls (each call is one request, whatever it holds).
type countingDB struct {
	store.API
	n     atomic.Int64 // writes
	reads atomic.Int64
}

// Unwrap is the client underneath (outboxtest reads the table's stream through it).
func (c *countingDB) Unwrap() store.API { return c.API }

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.reads.Add(1)
	return c.API.GetItem(ctx, in, o...)
}
func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.reads.Add(1)
	return c.API.Query(ctx, in, o...)
}

func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.n.Add(1)
	return c.API.PutItem(ctx, in, o...)
}
func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.API.UpdateItem(ctx, in, o...)
}
func (c *countingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.n.Add(1)
	return c.API.DeleteItem(ctx, in, o...)
}
func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.n.Add(1)
	return c.API.TransactWriteItems(ctx, in, o...)
}
func (c *countingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchWriteItem(ctx, in, o...)
}

type hookCall struct {
	PartnerID, CompanyID, PaymentIntentID, Currency string
	Amount                                          int64
	Metadata                                        map[string]string
}

type countingHook struct {
	mu    sync.Mutex
	calls []hookCall
}

func (h *countingHook) PaymentSucceeded(_ context.Context, pid, cid, pi string, md map[string]string, amt int64, cur string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, hookCall{pid, cid, pi, cur, amt, md})
	return nil
}

func (h *countingHook) n() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.calls)
}

// newWorld builds the stack: Stripe API calls go to btFake, which serves balance
// transactions itself and proxies everything else to stripe-mock.
func newWorld(t testing.TB, opts ...func(*app.Config)) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	fake, err := example.NewBalanceFake(st.StripeURL)
	if err != nil {
		t.Fatal(err)
	}
	fakeSrv := httptest.NewServer(fake)
	t.Cleanup(fakeSrv.Close)
	env := testenv.New(t, append([]func(*app.Config){func(c *app.Config) { c.StripeAPIURL = fakeSrv.URL }}, opts...)...)
	env.EnableStream() // invoices' events are written from it (outboxtest, as the relay does)
	w := &world{env: env, fake: fake, account: acct}
	w.pid, w.key = env.Partner("Acme")
	cred := testenv.Do(t, "PUT", env.Server("credentials").URL+"/v1/integrations/stripe", w.key,
		map[string]any{"secret_key": "sk_test_123abc456def", "client_id": "ca_1234567890abcdef", "webhook_secret": whsec})
	if cred.Status != 200 {
		t.Fatalf("configure stripe: %d %s", cred.Status, cred.Body)
	}
	ctx := context.Background()
	co, _, err := env.Companies.Create(ctx, w.pid, "bakery-1", "Bakery")
	if err != nil {
		t.Fatal(err)
	}
	w.cid = co.ID
	if _, _, err := env.Companies.Connect(ctx, companies.Connection{PartnerID: w.pid, CompanyID: w.cid, Provider: "stripe",
		AccountID: acct, Method: "linked", ConnectedAt: env.Now()}); err != nil {
		t.Fatal(err)
	}
	w.writes = &countingDB{API: env.Store.DB}
	env.Store.DB = w.writes
	// The webhook handler as app builds it, plus a counting payment hook; the rest
	// of the API (invoices, payouts) from the template's routes.
	w.hook = &countingHook{}
	w.svc = webhookfn.Service(env.Env)
	w.svc.Hook = w.hook
	q := workerfn.LocalQueue(env.Env)
	w.queue = q
	r := env.Router()
	webhooks.StripeRoutes(r, w.svc)
	webhooks.QualpayRoutes(r, w.svc)
	api := env.Server("payments")
	mux := http.NewServeMux()
	wh := r.Handler()
	mux.Handle("/stripe", wh)
	mux.Handle("/stripe/", wh)
	mux.Handle("/qualpay", wh)
	mux.Handle("/qualpay/", wh)
	apiURL, _ := url.Parse(api.URL)
	mux.Handle("/", httputil.NewSingleHostReverseProxy(apiURL))
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	return w
}

var event = example.Event

func sign(body []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
}

type resp struct {
	status int
	body   []byte
	res    webhooks.Result
}

func post(t testing.TB, u string, body []byte, header, value string) resp {
	t.Helper()
	req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set(header, value)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, body: b}
	_ = json.Unmarshal(b, &out.res)
	return out
}

// deliver signs and posts a Stripe event to the shared URL.
func (w *world) deliver(t testing.TB, body []byte) resp {
	t.Helper()
	return post(t, w.srv.URL+"/stripe", body, "Stripe-Signature", sign(body, whsec, time.Now()))
}

func bt(id, typ, category string, amount, fee int64, source any) map[string]any {
	return example.BalanceTxn(id, typ, category, amount, fee, time.Now().Unix(), source)
}

func itoa(n int) string { return strconv.Itoa(n) }

// appWorker is the app's worker pointed at stripe-mock directly (not the fake).
func appWorker(w *world) *webhooks.Worker {
	wk := workerfn.Worker(w.env.Env)
	wk.Stripe = stripeapi.NewFactory(stripeapi.Config{APIURL: w.env.Stack.StripeURL})
	return wk
}

// syncQueue runs jobs on a given handler before Enqueue returns.
type syncQueue struct{ h queue.Handler }

func (q *syncQueue) Enqueue(ctx context.Context, j queue.Job) error { return q.h.Handle(ctx, j) }

func queueJob(w *world) queue.Job {
	return queue.Job{Kind: queue.KindQualpayPullDeposits, PartnerID: w.pid, CompanyID: w.cid, AccountID: qpMID}
}
