// Package app wires the shared services from configuration. Lambda mains, the
// local runner and tests all build the same Env, so they run the same code.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"

	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/partners"
	"github.com/payrecon/payrecon/shared/secrets"
	"github.com/payrecon/payrecon/shared/store"
	"github.com/payrecon/payrecon/shared/stripeapi"
)

// Config is everything a function needs from its environment.
type Config struct {
	Stage  string // STAGE
	Table  string // TABLE_NAME
	Region string // AWS_REGION
	// Local endpoints (empty in AWS).
	DynamoEndpoint  string // DYNAMODB_ENDPOINT
	SecretsEndpoint string // SECRETSMANAGER_ENDPOINT
	SQSEndpoint     string // SQS_ENDPOINT
	// Provider endpoints (empty = the real ones).
	StripeAPIURL     string // STRIPE_API_URL
	StripeConnectURL string // STRIPE_CONNECT_URL (OAuth token/deauthorize host)
	StripeAuthorize  string // STRIPE_AUTHORIZE_URL (where users are sent to authorize)
	// StripeOnboardingStandIn is STRIPE_ONBOARDING_STANDIN_URL: local runner only.
	StripeOnboardingStandIn string
	QualpayBaseURL          string // QUALPAY_BASE_URL (overrides sandbox/production hosts)
	PublicBaseURL           string // PUBLIC_BASE_URL: this deployment's public URL (OAuth redirect_uri)
	WorkQueueURL            string // WORK_QUEUE_URL: SQS queue for asynchronous work
	ReconcileQueueURL       string // RECONCILE_QUEUE_URL: SQS queue of company reconcile runs
	PlaidBaseURL            string // PLAID_BASE_URL (overrides sandbox/production hosts)
	PlaidQueueURL           string // PLAID_QUEUE_URL: SQS queue of Plaid Item syncs
	SplitsQueueURL          string // SPLITS_QUEUE_URL: SQS queue of split funding (Stripe webhook -> splits)
	NotifyQueueURL          string // NOTIFY_QUEUE_URL: SQS FIFO queue of partner webhook deliveries
	// WebhookAllowLoopback (WEBHOOK_ALLOW_LOOPBACK=1) lets partner webhook
	// endpoints be http:// on loopback: honoured only on a local stack (Local()),
	// never in AWS, so the local runner's receiver can be registered.
	WebhookAllowLoopback bool
	// PlaidSyncInterval (PLAID_SYNC_INTERVAL_MINUTES, default 360): the schedule
	// syncs Items not synced for this long (lost webhooks).
	PlaidSyncInterval time.Duration
	SecretsCacheTTL   time.Duration
	RouteCacheTTL     time.Duration // ROUTE_CACHE_SECONDS (default 60): account -> company routes in memory
	HTTPClientTimeout time.Duration

	// AWS credentials as the Lambda runtime provides them (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
	AWSAccessKeyID, AWSSecretAccessKey, AWSSessionToken string
	// AWSTransport, when set, carries every AWS SDK call (tests inject faults here).
	AWSTransport http.RoundTripper
}

// ConfigFromEnv reads Config with getenv (os.Getenv in main; a map in tests).
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{
		Stage: getenv("STAGE"), Table: getenv("TABLE_NAME"), Region: getenv("AWS_REGION"),
		DynamoEndpoint: getenv("DYNAMODB_ENDPOINT"), SecretsEndpoint: getenv("SECRETSMANAGER_ENDPOINT"),
		SQSEndpoint:  getenv("SQS_ENDPOINT"),
		StripeAPIURL: getenv("STRIPE_API_URL"), StripeConnectURL: getenv("STRIPE_CONNECT_URL"),
		StripeAuthorize: getenv("STRIPE_AUTHORIZE_URL"), StripeOnboardingStandIn: getenv("STRIPE_ONBOARDING_STANDIN_URL"), QualpayBaseURL: getenv("QUALPAY_BASE_URL"),
		PublicBaseURL: getenv("PUBLIC_BASE_URL"), WorkQueueURL: getenv("WORK_QUEUE_URL"),
		ReconcileQueueURL: getenv("RECONCILE_QUEUE_URL"),
		PlaidBaseURL:      getenv("PLAID_BASE_URL"), PlaidQueueURL: getenv("PLAID_QUEUE_URL"), SplitsQueueURL: getenv("SPLITS_QUEUE_URL"), PlaidSyncInterval: 6 * time.Hour,
		NotifyQueueURL: getenv("NOTIFY_QUEUE_URL"),
		AWSAccessKeyID: getenv("AWS_ACCESS_KEY_ID"), AWSSecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
		AWSSessionToken: getenv("AWS_SESSION_TOKEN"),
		SecretsCacheTTL: 60 * time.Second, HTTPClientTimeout: 10 * time.Second,
	}
	if s, err := strconv.Atoi(getenv("SECRETS_CACHE_SECONDS")); err == nil && s >= 0 {
		c.SecretsCacheTTL = time.Duration(s) * time.Second
	}
	c.RouteCacheTTL = 60 * time.Second
	if s, err := strconv.Atoi(getenv("ROUTE_CACHE_SECONDS")); err == nil && s >= 0 {
		c.RouteCacheTTL = time.Duration(s) * time.Second
	}
	if m, err := strconv.Atoi(getenv("PLAID_SYNC_INTERVAL_MINUTES")); err == nil && m > 0 {
		c.PlaidSyncInterval = time.Duration(m) * time.Minute
	}
	c.WebhookAllowLoopback = getenv("WEBHOOK_ALLOW_LOOPBACK") == "1" && c.Local()
	if c.Stage == "" {
		c.Stage = "dev"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.StripeAuthorize == "" {
		c.StripeAuthorize = "https://connect.stripe.com/oauth/authorize"
	}
	return c
}

// Local reports whether AWS calls go to local emulators.
func (c Config) Local() bool {
	return c.DynamoEndpoint != "" || c.SecretsEndpoint != "" || c.SQSEndpoint != ""
}

// Env holds the clients and services built once per cold start.
type Env struct {
	Cfg         Config
	AWS         aws.Config // shared by every AWS client (DynamoDB; Secrets Manager and SQS where used)
	Log         *slog.Logger
	Now         func() time.Time
	IDs         *ids.Generator
	HTTP        *http.Client
	DB          *dynamodb.Client
	Store       *store.Store
	Secrets     secrets.Store
	Partners    *partners.Service
	Credentials *credentials.Service
	Companies   *companies.Service
	Stripe      *stripeapi.Factory

	secretsCache *secrets.Cached // Secrets; its store is set once by UseSecrets
	secretsOnce  *sync.Once
}

// AWSConfig is the SDK configuration for our clients. It is built directly
// rather than with config.LoadDefaultConfig: a Lambda always receives its role's
// credentials in the environment, and the default loader links (and initialises)
// the shared-config, SSO, SSO-OIDC, STS, process and IMDS credential chains,
// which a function never uses.
func AWSConfig(cfg Config) (aws.Config, error) {
	c := aws.Config{Region: cfg.Region}
	switch {
	case cfg.Local():
		// Local emulators accept any credentials; never pick up a developer's real ones.
		c.Credentials = awscreds.NewStaticCredentialsProvider("local", "local", "")
		// The emulators do not implement flexible checksums; skip validation rather than warn on every call.
		c.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		c.Logger = logging.Nop{}
	case cfg.AWSAccessKeyID != "" && cfg.AWSSecretAccessKey != "":
		c.Credentials = aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider(
			cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey, cfg.AWSSessionToken))
	default:
		return aws.Config{}, fmt.Errorf("no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return c, nil
}

// NewEnv builds AWS clients (pointed at local endpoints when configured) and services.
func NewEnv(_ context.Context, cfg Config, log *slog.Logger) (*Env, error) {
	awsCfg, err := AWSConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoEndpoint)
		}
		if cfg.AWSTransport != nil {
			o.HTTPClient = &http.Client{Transport: cfg.AWSTransport, Timeout: 10 * time.Second}
		}
	})
	// No secret store yet: the functions that keep partner credentials add
	// Secrets Manager when they are built (smclient.Use).
	e := Assemble(cfg, log, db, nil)
	e.AWS = awsCfg
	return e, nil
}

// UseSecrets backs the Env's secret cache (Secrets, and so Credentials) with
// the store open returns, once, unless Assemble was given one. The builders of
// the functions that keep partner credentials call it (smclient.Use), so the
// others neither link nor initialise the Secrets Manager SDK.
func (e *Env) UseSecrets(open func() secrets.Store) {
	e.secretsOnce.Do(func() {
		if _, unset := e.secretsCache.Next.(secrets.Unset); unset {
			e.secretsCache.Next = open()
		}
	})
}

// Assemble builds services over given clients (tests use it to inject faults).
// A nil sec leaves the secret store unset until UseSecrets.
func Assemble(cfg Config, log *slog.Logger, db *dynamodb.Client, sec secrets.Store) *Env {
	if sec == nil {
		sec = secrets.Unset{}
	}
	if log == nil {
		log = slog.Default()
	}
	now := func() time.Time { return time.Now().UTC() }
	gen := ids.New()
	hc := &http.Client{Timeout: cfg.HTTPClientTimeout}
	st := store.New(db, cfg.Table)
	if cfg.DynamoEndpoint != "" {
		st.MaxTransact = store.MaxTransactLocal // DynamoDB Local's older limit
	}
	cached := secrets.NewCached(sec, cfg.SecretsCacheTTL, now)
	sf := stripeapi.NewFactory(stripeapi.Config{APIURL: cfg.StripeAPIURL, ConnectURL: cfg.StripeConnectURL, HTTPClient: hc, MaxRetries: 2})
	return &Env{
		Cfg: cfg, Log: log, Now: now, IDs: gen, HTTP: hc, DB: db, Store: st, Secrets: cached,
		secretsCache: cached, secretsOnce: &sync.Once{},
		Partners:    &partners.Service{Store: st, IDs: gen, Now: now},
		Credentials: &credentials.Service{Store: st, Secrets: cached, Stripe: sf, Stage: cfg.Stage, Now: now, IDs: gen, PublicBaseURL: cfg.PublicBaseURL},
		Companies:   &companies.Service{Store: st, IDs: gen, Now: now, RouteTTL: cfg.RouteCacheTTL},
		Stripe:      sf,
	}
}

// Router returns a router authenticating with the partner API keys.
func (e *Env) Router() *httpapi.Router { return httpapi.NewRouter(e.Log, e.Partners) }
