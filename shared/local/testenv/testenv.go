package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconrun"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/app/webhookfn"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/registry"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// Main runs a package's tests and stops the emulators afterwards:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	localstack.Running().Stop()
	os.Exit(code)
}

// Env is one test's isolated world: a fresh table and stage on the shared stack.
type Env struct {
	*app.Env
	Stack *localstack.Stack
	Vars  map[string]string // the environment a Lambda would see (for app.HTTPLambda)
	Logs  *SyncBuffer       // everything logged through Env.Log
	t     testing.TB
}

// New gives the test a fresh table and secret namespace. Options may adjust the config.
func New(t testing.TB, opts ...func(*app.Config)) *Env {
	t.Helper()
	if testing.Short() && os.Getenv("PAYRECON_TEST_DYNAMODB") == "" {
		t.Skip("needs the local stack (DynamoDB Local, moto, stripe-mock)")
	}
	st, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatalf("local stack: %v", err)
	}
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	suffix := randHex(6)
	vars := map[string]string{
		"STAGE": "t" + suffix, "TABLE_NAME": "payrecon-t-" + suffix, "AWS_REGION": "us-east-1",
		"DYNAMODB_ENDPOINT": st.DynamoURL, "SECRETSMANAGER_ENDPOINT": st.SecretsURL,
		"STRIPE_API_URL": st.StripeURL, "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
		"SECRETS_CACHE_SECONDS": "0",
		"AWS_ACCESS_KEY_ID":     "local", "AWS_SECRET_ACCESS_KEY": "local",
	}
	// No WORK_QUEUE_URL: queued work runs in this process, on the same Worker.
	workerfn.EnableInProcess()
	// No SPLITS_QUEUE_URL: the Stripe webhook runs split funding in this
	// process, through the splits queue's message form.
	webhookfn.EnableInProcess(splitsfn.Fund)
	reconrun.EnableInProcess() // no RECONCILE_QUEUE_URL: a Plaid sync's reconcile runs here too
	cfg := app.ConfigFromEnv(func(k string) string { return vars[k] })
	for _, o := range opts {
		o(&cfg)
	}
	logs := &SyncBuffer{}
	// Unredacted on purpose: the secret scan at cleanup checks what the code
	// logs, not what the redacting handler (production's last line of defence) hides.
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	e, err := app.NewEnv(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	smclient.Use(e) // tests read and write partner credentials directly
	if err := samtemplate.CreateTable(ctx, e.DB, filepath.Join(root, "template.yaml"), cfg.Table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	env := &Env{Env: e, Stack: st, Vars: vars, Logs: logs, t: t}
	t.Cleanup(func() { env.scanLogs(t) })
	return env
}

// EnableStream turns on the table's stream as template.yaml declares it, for
// tests whose assertions read what the notifications relay reads (outboxtest
// writes invoices' marker events from it, as the relay does).
func (e *Env) EnableStream() {
	e.t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := samtemplate.EnableStream(context.Background(), e.DB, filepath.Join(root, "template.yaml"), e.Cfg.Table); err != nil {
		e.t.Fatalf("enable stream: %v", err)
	}
}

// Getenv returns the Lambda environment as a getenv function.
func (e *Env) Getenv(k string) string { return e.Vars[k] }

// Partner creates a partner and returns its ID and API key.
func (e *Env) Partner(name string) (string, string) {
	e.t.Helper()
	p, key, err := e.Partners.Create(context.Background(), name, false)
	if err != nil {
		e.t.Fatalf("create partner: %v", err)
	}
	remember(key)
	return p.ID, key
}

// Company makes a partner and one company of it (the usual start of a store
// test) and returns their IDs.
func (e *Env) Company() (partnerID, companyID string) {
	e.t.Helper()
	pid, _ := e.Partner("Acme")
	co, _, err := e.Companies.Create(context.Background(), pid, "c1", "Bakery")
	if err != nil {
		e.t.Fatalf("create company: %v", err)
	}
	return pid, co.ID
}

// Server serves the named functions (all registered ones when none given) on an
// httptest server, mounted on template.yaml's routes exactly as cmd/local does.
func (e *Env) Server(names ...string) *httptest.Server {
	e.t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		e.t.Fatal(err)
	}
	h, err := registry.Mount(e.Env, filepath.Join(root, "template.yaml"), names...)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	return srv
}

// Response is a decoded HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns error.code of a JSON error body.
func (r Response) ErrorCode() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do sends a request with an optional bearer key and JSON body (string, []byte or any).
func Do(t testing.TB, method, url, key string, body any) Response {
	t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rdr)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if what := findSecret(string(b) + " " + res.Header.Get("Location")); what != "" {
		t.Errorf("secret scan: %s in the response to %s %s", what, method, url)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// SyncBuffer is a goroutine-safe log sink.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Fatalf-free helper for building URLs.
func URL(srv *httptest.Server, format string, args ...any) string {
	return srv.URL + fmt.Sprintf(format, args...)
}
