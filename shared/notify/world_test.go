package notify_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/sqsesm"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is one test's notification pipeline on the local stack: DynamoDB
// Local, moto's Secrets Manager and an SQS FIFO delivery queue with its DLQ.
type world struct {
	t      *testing.T
	env    *testenv.Env
	svc    *notify.Service
	relay  *notify.Relay
	sender *notify.Sender
	poller *sqsesm.Poller
	queue  *notify.SQSQueue
	dlq    string
	pid    string
	key    string
}

func newWorld(t *testing.T, opts ...func(*app.Config)) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t, append([]func(*app.Config){func(c *app.Config) {
		c.SQSEndpoint = st.SecretsURL // moto_server serves SQS too
		c.WebhookAllowLoopback = true // receivers are httptest servers on loopback
	}}, opts...)...)
	ctx := context.Background()
	api := sqsclient.New(env.Env)
	url, dlq, err := sqsesm.CreateFIFO(ctx, api, env.Cfg.Table+"-notify", notify.MaxAttempts, 30)
	if err != nil {
		t.Fatal(err)
	}
	env.Cfg.NotifyQueueURL = url
	q := &notify.SQSQueue{API: api, URL: url}
	policy := notify.URLPolicy{AllowLoopbackHTTP: true}
	svc := &notify.Service{Store: env.Store, Secrets: env.Secrets, IDs: env.IDs, Now: env.Now, Rand: rand.Reader,
		Stage: env.Cfg.Stage, Policy: policy, Queue: q, Log: env.Log}
	w := &world{t: t, env: env, svc: svc, queue: q, dlq: dlq,
		relay: &notify.Relay{Store: env.Store, Queue: q, Now: env.Now, Log: env.Log, MinAge: -1},
		sender: &notify.Sender{Svc: svc, HTTP: notify.NewHTTPClient(policy), Queue: q, Now: env.Now, Log: env.Log,
			Rand: func() float64 { return 0.5 },
			// No waiting in tests: a retry is visible again at once (the
			// schedule itself is unit-tested in backoff_test.go).
			Backoff: func(n int, _ func() float64) (time.Duration, bool) { return 0, n < notify.MaxAttempts }},
	}
	w.poller = &sqsesm.Poller{API: api, QueueURL: url, Handler: w.sender.HandleSQS, BatchSize: 1} // as template.yaml
	w.pid, w.key = env.Partner("Acme")
	return w
}

// endpoint registers url for types and returns it with its secret.
func (w *world) endpoint(url string, types ...string) notify.Created {
	w.t.Helper()
	c, err := w.svc.Create(context.Background(), w.pid, notify.EndpointInput{URL: &url, Events: &types})
	if err != nil {
		w.t.Fatalf("create endpoint: %v", err)
	}
	return c
}

// attemptOnce registers url for typ, emits an event about objectID, makes
// one delivery attempt with s, checks its outcome and returns the event's log.
func (w *world) attemptOnce(s *notify.Sender, url, typ, objectID string, want notify.Outcome) []notify.Attempt {
	w.t.Helper()
	ctx := context.Background()
	ep := w.endpoint(url, typ)
	ev := w.emit(typ, objectID, map[string]string{"id": objectID})
	out, _, err := s.Deliver(ctx, notify.Message{EventID: ev.ID, PartnerID: w.pid, EndpointID: ep.ID, ObjectID: objectID}, 1)
	if err != nil || out != want {
		w.t.Fatalf("outcome %v, %v; want %v", out, err, want)
	}
	log, _, err := w.svc.Deliveries(ctx, w.pid, ev.ID, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return log
}

// emit writes an event in its own transaction, as an emitting change does.
func (w *world) emit(typ, objectID string, obj any) outbox.Event {
	w.t.Helper()
	ev, err := outbox.New(w.env.IDs.ID("evt"), typ, w.pid, "co_1", objectID, obj, w.env.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	tx, err := ev.TxItem(w.env.Cfg.Table)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.env.Store.Transact(context.Background(), []types.TransactWriteItem{tx}); err != nil {
		w.t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond) // distinct ULID milliseconds: a stable order to assert
	return ev
}

// drain runs the sender until done() or the deadline.
func (w *world) drain(done func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			w.t.Fatalf("deliveries did not finish within 20 s; logs:\n%s", w.env.Logs.String())
		}
		n, err := w.poller.Once(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// receiver is a partner endpoint that verifies every delivery with the
// Standard Webhooks reference library and answers from a script.
type receiver struct {
	mu       sync.Mutex
	verifier *standardwebhooks.Webhook
	answers  []int // status per request; 200 once exhausted
	got      []delivery
}

type delivery struct {
	status   int
	id       string
	ts       string
	body     []byte
	sig      string
	verified bool
}

func newReceiver(t *testing.T, answers ...int) (*receiver, *httptest.Server) {
	r := &receiver{answers: answers}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

// verifyWith sets the secret the receiver verifies with.
func (r *receiver) verifyWith(t *testing.T, secret string) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.verifier = wh
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	status := http.StatusOK
	if len(r.got) < len(r.answers) {
		status = r.answers[len(r.got)]
	}
	d := delivery{status: status, id: req.Header.Get("webhook-id"), ts: req.Header.Get("webhook-timestamp"), body: body, sig: req.Header.Get("webhook-signature")}
	d.verified = r.verifier != nil && r.verifier.Verify(body, req.Header) == nil
	r.got = append(r.got, d)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"status":%d}`, status)
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// succeeded lists the event IDs answered 2xx, in arrival order.
func (r *receiver) succeeded() []string {
	var ids []string
	for _, d := range r.deliveries() {
		if d.status/100 == 2 {
			ids = append(ids, d.id)
		}
	}
	return ids
}
