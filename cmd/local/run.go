package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconrun"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/app/webhookfn"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/oauthpage"
	"github.com/payrecon/payrecon/shared/local/plaidfake"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/local/sqsesm"
	"github.com/payrecon/payrecon/shared/local/stripefake"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/registry"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// localTable is the table name used by `make run` (DynamoDB Local runs in memory,
// so every run starts clean and re-running always works).
const localTable = "payrecon-local"

func runLocal(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	port := fs.Int("port", 3000, "port to serve the API on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stack, err := localstack.Start(getenv)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	l, err := buildLocal(ctx, stack, base, getenv)
	if err != nil {
		ln.Close()
		return err
	}
	defer closeLocal()
	d := l.Demo
	envFile, err := writeFunctionEnv(l.FunctionEnv)
	if err != nil {
		return err
	}
	srv := newServer(l.Handler)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	notes, err := startNotifications(ctx, l, base)
	if err != nil {
		return fmt.Errorf("webhook receiver: %w", err)
	}
	summary, err := playExample(ctx, l, base)
	if err != nil {
		return fmt.Errorf("worked example: %w", err)
	}
	rec, err := reconcileExample(ctx, l, base)
	if err != nil {
		return fmt.Errorf("reconcile the worked example: %w", err)
	}
	summary += rec
	got, err := notes.settle(ctx, 20*time.Second)
	if err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	summary += "\n" + notes.summary(got)
	go notes.run(ctx, out) // later events are printed as they arrive
	embed, err := embedURL(ctx, l, base)
	if err != nil {
		return fmt.Errorf("embed session: %w", err)
	}
	fmt.Fprintf(out, `
payrecon is running locally on %s
  DynamoDB Local  %s   (table %s)
  Secrets Manager %s   (moto_server)
  Stripe API      %s   (stripe-mock)

Functions under aws-lambda-rie:  make invoke FN=StripeWebhookFunction EVENT=events/stripe-webhook-payout-paid.json
  (their environment, in sam --env-vars format: %s)

Demo partner %s, API key (fixed, local only):

  export PAYRECON_API_KEY=%s

  curl -s -H "Authorization: Bearer $PAYRECON_API_KEY" %s/v1/integrations/stripe
  demo company: %s (Stripe %s, Qualpay merchant %s)

%s
Embedded UI for the demo company (open within 15 minutes; single use):

  %s

  new one: curl -s -X POST -H "Authorization: Bearer $PAYRECON_API_KEY" -d '{"components":["connect","payouts","reconciliation"]}' %s/v1/companies/%s/embed-sessions

Ctrl-C stops everything.
`, base, stack.DynamoURL, localTable, stack.SecretsURL, stack.StripeURL, envFile, d.PartnerID, d.APIKey, base, d.CompanyID, demo.StripeAccountID, demo.QualpayMerchantID, summary, embed, base, d.CompanyID)

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(out, "\nstopping")
	return srv.Shutdown(shutdown)
}

// local is what buildLocal assembled.
type local struct {
	Handler http.Handler
	Demo    demo.Demo
	Env     *app.Env
	// FunctionEnv is a deployed function's environment on this stack (make
	// invoke, sam local invoke --env-vars): the in-process handlers above use an
	// in-process work queue, the functions the stack's SQS queues (moto_server).
	FunctionEnv map[string]string
	// Balance serves Stripe balance transactions for payouts (stripe-mock's fixtures
	// cannot itemise a real payout); everything else goes on to stripe-mock.
	Balance *example.BalanceFake
	// Qualpay is the spec-checked Qualpay fake the demo merchant lives on.
	Qualpay *qualpayfake.Fake
	// Plaid is the spec-checked Plaid fake the demo company's bank is linked on.
	Plaid *plaidfake.Fake
	// StreamARN is the table's stream on DynamoDB Local (the notifications relay reads it).
	StreamARN string
}

// buildLocal creates the table, seeds the demo partner and mounts every route.
func buildLocal(ctx context.Context, stack *localstack.Stack, base string, getenv func(string) string) (*local, error) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		return nil, err
	}
	balance, err := example.NewBalanceFake(stack.StripeURL)
	if err != nil {
		return nil, err
	}
	stripeURL, err := serveLoopback(balance)
	if err != nil {
		return nil, err
	}
	// Stripe's OAuth host has no emulator: a fake answers /oauth/token and
	// /oauth/deauthorize, and a clearly labelled stand-in authorize page issues its codes.
	oauthFake, err := stripefake.New(stripefake.Options{APIUpstream: stripeURL})
	if err != nil {
		return nil, err
	}
	closers = append(closers, oauthFake.Close)
	log := app.NewLogger(os.Stderr, slog.LevelInfo)
	qpURL, qpFake, err := startQualpayFake(root, log)
	if err != nil {
		return nil, err
	}
	plURL, plFake, err := startPlaidFake(log)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{
		"PLAID_BASE_URL": plURL,
		"STAGE":          "local", "TABLE_NAME": localTable, "AWS_REGION": "us-east-1",
		"DYNAMODB_ENDPOINT": stack.DynamoURL, "SECRETSMANAGER_ENDPOINT": stack.SecretsURL,
		"STRIPE_API_URL": stripeURL, "PUBLIC_BASE_URL": base,
		"STRIPE_CONNECT_URL": oauthFake.URL, "STRIPE_AUTHORIZE_URL": base + standInPath,
		"STRIPE_ONBOARDING_STANDIN_URL": base + onboardingStandInPath,
		"QUALPAY_BASE_URL":              qpURL,
		// Partner webhooks may go to the local receiver over http on loopback
		// (honoured only with local endpoints; never in AWS).
		"WEBHOOK_ALLOW_LOOPBACK": "1",
	}
	cfg := app.ConfigFromEnv(func(k string) string {
		if v := getenv("PAYRECON_LOCAL_" + k); v != "" {
			return v
		}
		return vars[k]
	})
	e, err := app.NewEnv(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	smclient.Use(e) // demo seeding stores the demo partner's credentials
	// The functions built in this process run queued work in it (the same
	// Worker), unless WORK_QUEUE_URL names an SQS queue.
	workerfn.EnableInProcess()
	// Split funding, which the Stripe webhook queues for the splits function,
	// runs in the webhook's request here (unless SPLITS_QUEUE_URL is set).
	webhookfn.EnableInProcess(splitsfn.Fund)
	reconrun.EnableInProcess() // and a Plaid sync's reconcile run (unless RECONCILE_QUEUE_URL is set)
	if err := samtemplate.CreateTable(ctx, e.DB, filepath.Join(root, "template.yaml"), cfg.Table); err != nil {
		return nil, err
	}
	// DynamoDB Local serves DynamoDB Streams: the notifications relay reads the
	// table's stream as it does in AWS (cmd/local/notify.go).
	streamARN, err := samtemplate.EnableStream(ctx, e.DB, filepath.Join(root, "template.yaml"), cfg.Table)
	if err != nil {
		return nil, err
	}
	// The partner-webhook delivery queue (FIFO + DLQ) on moto_server, which
	// serves SQS; in-process handlers and deployed functions share it.
	e.Cfg.SQSEndpoint = stack.SecretsURL
	if e.Cfg.NotifyQueueURL, _, err = sqsesm.CreateFIFO(ctx, sqsclient.New(e), cfg.Table+"-notify", notify.MaxAttempts, 180); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(standInPath, oauthpage.Handler(oauthFake))
	mux.Handle(embeddedFieldsPath, qpFake.EmbeddedFieldsStandIn())
	routes, err := registry.Mount(e, filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	mux.Handle("/", routes)
	mux.Handle(onboardingStandInPath, onboardingStandIn(e, routes))
	d, err := demo.Seed(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("seed demo: %w", err)
	}
	fnEnv, err := functionEnv(ctx, e, stack.SecretsURL)
	if err != nil {
		return nil, err
	}
	return &local{Handler: mux, Demo: d, Env: e, Balance: balance, Qualpay: qpFake, Plaid: plFake, FunctionEnv: fnEnv, StreamARN: streamARN}, nil
}

// standInPath serves the local stand-in of Stripe's authorize page.
const standInPath = "/_local/stripe/authorize"

// embeddedFieldsPath turns test card numbers into Qualpay card_id tokens, as
// Qualpay Embedded Fields does in a browser (local only; never deployed).
const embeddedFieldsPath = "/_local/qualpay/embedded-fields"

// startQualpayFake serves the spec-validating Qualpay fake on loopback with the
// demo merchant; contract violations are logged.
func startQualpayFake(root string, log *slog.Logger) (string, *qualpayfake.Fake, error) {
	spec, err := qualpayfake.SpecPath(root)
	if err != nil {
		return "", nil, err
	}
	sink := qualpayfake.SinkFunc(func(format string, args ...any) {
		log.Warn("qualpay fake: contract violation", "detail", fmt.Sprintf(format, args...))
	})
	f, err := qualpayfake.New(sink, qualpayfake.Config{SpecPath: spec, SecurityKey: demo.QualpaySecurityKey})
	if err != nil {
		return "", nil, err
	}
	mid, _ := strconv.ParseInt(demo.QualpayMerchantID, 10, 64)
	f.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Demo Bakery"})
	u, err := serveLoopback(f)
	return u, f, err
}

// serveLoopback serves h on a free loopback port until closeLocal.
func serveLoopback(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	closers = append(closers, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

// closers stop the local fakes started by buildLocal.
var closers []func()

func closeLocal() {
	for _, c := range closers {
		c()
	}
	closers = nil
}

// newServer applies the limits API Gateway would: header size, a 29 s request timeout.
func newServer(h http.Handler) *http.Server {
	timeoutBody := `{"error":{"code":"unavailable","message":"request timed out"}}`
	return &http.Server{
		Handler:           http.TimeoutHandler(h, 29*time.Second, timeoutBody),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      35 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}
