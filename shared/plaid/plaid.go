// Package plaid is payrecon's Plaid integration: a partner's Plaid API keys,
// Link tokens, Items (access tokens in Secrets Manager), /transactions/sync
// pulls applied through the bank-feed code, and JWT-verified Plaid webhooks.
// Every Plaid call goes through Plaid's official client, plaid-go.
//
// Docs followed:
//   - https://plaid.com/docs/api/products/transactions/#transactionssync (pages, has_more, cursors)
//   - https://plaid.com/docs/errors/transactions (TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION)
//   - https://plaid.com/docs/api/webhooks/webhook-verification/ (Plaid-Verification JWT)
//   - https://plaid.com/docs/api/items/#webhooks (ITEM ERROR, PENDING_EXPIRATION, USER_PERMISSION_REVOKED)
package plaid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	plaidgo "github.com/plaid/plaid-go/v20/plaid"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/plaiditems"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/secrets"
)

// Feed applies one /transactions/sync page: the bank-feed function's code
// (reconsvc.Service.Ingest), so pulled and pushed pages are the same thing.
type Feed interface {
	Ingest(ctx context.Context, pid, cid string, page recon.SyncPage) (reconsvc.FeedResult, error)
}

// Service is the Plaid integration.
type Service struct {
	Items   *plaiditems.Store
	Secrets secrets.Store
	Stage   string
	HTTP    *http.Client
	// BaseURL replaces Plaid's host for every environment (the local fake).
	BaseURL string
	// PublicBaseURL is this deployment's public URL; webhooks go to PublicBaseURL/plaid.
	PublicBaseURL string
	Feed          Feed
	// Reconcile starts the company's reconciliation after a sync (the plaid
	// function queues it for the reconcile function: plaidfn).
	Reconcile func(ctx context.Context, pid, cid string) error
	Queue     queue.Enqueuer
	Keys      *KeyCache
	// PageSize is the /transactions/sync count (0: PageSize, Plaid's maximum).
	PageSize int32
	// MaxPages is the page budget of one job (0: MaxPages).
	MaxPages int
	Now      func() time.Time
	// IDs makes the IDs of the exception events a broken or repaired Item emits.
	IDs outbox.IDs
	Log *slog.Logger
}

func (s *Service) events() exceptions.Events { return exceptions.Events{IDs: s.IDs, Now: s.Now} }

// Credentials are a partner's Plaid API keys (stored whole in Secrets Manager only).
type Credentials struct {
	ClientID    string `json:"client_id"`
	Secret      string `json:"secret"`
	Environment string `json:"environment"`
	WebhookURL  string `json:"webhook_url,omitempty"`
}

// Environments.
const (
	Sandbox    = "sandbox"
	Production = "production"
)

func (s *Service) credsName(pid string) string { return secrets.Name(s.Stage, pid, "plaid") }

// tokenName names an Item's access_token secret.
func (s *Service) tokenName(pid, itemID string) string {
	return secrets.Name(s.Stage, pid, "plaid-item/"+itemID)
}

func (s *Service) credentials(ctx context.Context, pid string) (Credentials, error) {
	raw, err := s.Secrets.Get(ctx, s.credsName(pid))
	if errors.Is(err, secrets.ErrNotFound) {
		return Credentials{}, apperr.New(apperr.NotFound, "plaid is not configured")
	}
	if err != nil {
		return Credentials{}, err
	}
	var c Credentials
	if err := json.Unmarshal(raw, &c); err != nil {
		return Credentials{}, fmt.Errorf("plaid credentials: %w", err)
	}
	return c, nil
}

// client is plaid-go configured with the partner's keys and environment.
func (s *Service) client(c Credentials) *plaidgo.PlaidApiService {
	cfg := plaidgo.NewConfiguration()
	cfg.AddDefaultHeader("PLAID-CLIENT-ID", c.ClientID)
	cfg.AddDefaultHeader("PLAID-SECRET", c.Secret)
	env := plaidgo.Sandbox
	if c.Environment == Production {
		env = plaidgo.Production
	}
	if s.BaseURL != "" {
		env = plaidgo.Environment(strings.TrimRight(s.BaseURL, "/"))
	}
	cfg.UseEnvironment(env)
	cfg.HTTPClient = s.HTTP
	return plaidgo.NewAPIClient(cfg).PlaidApi
}

// plaidErr is Plaid's error object of a failed call, when it has one.
func plaidErr(err error) (plaidgo.PlaidError, bool) {
	pe, perr := plaidgo.ToPlaidError(err)
	return pe, perr == nil && pe.ErrorCode != ""
}

// upstream turns a failed Plaid call into a client-safe error; the Plaid error
// code is kept (it names no secret) and the request_id is logged for support.
func (s *Service) upstream(ctx context.Context, op string, err error) error {
	if pe, ok := plaidErr(err); ok {
		s.Log.WarnContext(ctx, "plaid call failed", "op", op, "error_type", pe.ErrorType, "error_code", pe.ErrorCode, "request_id", pe.GetRequestId())
		switch pe.ErrorType {
		case "INVALID_INPUT", "INVALID_REQUEST", "ITEM_ERROR":
			return apperr.New(apperr.Unprocessable, "plaid %s: %s", op, pe.ErrorCode)
		case "RATE_LIMIT_EXCEEDED":
			return &apperr.Error{Code: apperr.RateLimited, Message: "plaid rate limit", RetryAfter: 30}
		}
		return apperr.New(apperr.BadGateway, "plaid %s failed: %s", op, pe.ErrorCode)
	}
	s.Log.WarnContext(ctx, "plaid call failed", "op", op, "err", err)
	return apperr.New(apperr.BadGateway, "plaid %s failed", op)
}
