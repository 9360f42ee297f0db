// Package reconfn builds the bank-feed, reconcile and reports functions, which
// share the reconciliation service.
package reconfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconrun"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/embed"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/plaiditems"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
	"github.com/payrecon/payrecon/shared/sqsbatch"
)

// Service builds reconciliation over the Env (reconrun.Service).
func Service(e *app.Env) *reconsvc.Service { return reconrun.Service(e) }

// BankFeedHandler serves POST /v1/companies/{id}/bank-transactions.
func BankFeedHandler(e *app.Env) http.Handler {
	r := e.Router()
	reconsvc.FeedRoutes(r, Service(e), e.Companies)
	return r.Handler()
}

// ReconcileHandler serves on-demand runs, manual matches, unmatching and
// accounts, and the same manual match and unmatch for the Embedded UI page.
func ReconcileHandler(e *app.Env) http.Handler {
	r := e.Router()
	reconsvc.ReconcileRoutes(r, Service(e), e.Companies)
	embed.MatchRoutes(r, EmbedService(e))
	return r.Handler()
}

// EmbedService is the Embedded UI's service over payouts and reconciliation:
// the embedded function adds the connect service; the reconcile function
// serves the page's manual matches with it (embed.MatchRoutes).
func EmbedService(e *app.Env) *embed.Service {
	return &embed.Service{
		Store: e.Store, Companies: e.Companies, Payouts: stores.Payouts(e), Recon: Service(e),
		Now: e.Now, Token: e.IDs.Token, PublicBaseURL: e.Cfg.PublicBaseURL, Log: e.Log,
	}
}

// ReportsHandler serves the read side: matches, journal entries, exceptions, bank transactions.
func ReportsHandler(e *app.Env) http.Handler {
	r := e.Router()
	reconsvc.ReportRoutes(r, Service(e), e.Companies)
	return r.Handler()
}

// ReconcileEntry is the reconcile function's Lambda entry. One function takes
// three triggers, told apart by the event's shape: API Gateway HTTP requests
// (on-demand runs and manual tools), the EventBridge schedule (find due
// companies and fan them out to the queue), and the queue's SQS messages (run
// one company each; failures reported per message so only they are retried).
//
// plaidSyncs, when given, receives the schedule's Plaid Item syncs (the local
// runner passes the plaid function's in-process queue); otherwise they go to
// PLAID_QUEUE_URL when it is set.
func ReconcileEntry(e *app.Env, queueURL string, plaidSyncs ...queue.Enqueuer) func(context.Context, json.RawMessage) (any, error) {
	svc := Service(e)
	var plaidQ queue.Enqueuer
	if len(plaidSyncs) > 0 {
		plaidQ = plaidSyncs[0]
	} else if e.Cfg.PlaidQueueURL != "" {
		plaidQ = &queue.SQS{API: sqsclient.New(e), QueueURL: e.Cfg.PlaidQueueURL}
	}
	httpH := httpapi.Lambda(ReconcileHandler(e))
	send := svc.Inline
	if queueURL != "" {
		send = (&reconrun.Sender{API: sqsclient.New(e), QueueURL: queueURL}).Send
	}
	// A message that is not a run reference: redelivering it cannot help.
	errNotARun := errors.New("not a run reference")
	sqsH := sqsbatch.Run(e.Log, "reconcile job", func(ctx context.Context, body string) error {
		ref, err := reconsvc.DecodeRef(body)
		if err != nil {
			return fmt.Errorf("%w: %w", errNotARun, err)
		}
		_, err = svc.RunRef(ctx, ref)
		return err
	}, func(err error) bool { return errors.Is(err, errNotARun) })
	return app.Triggers{HTTP: httpH, SQS: sqsH, Other: func(ctx context.Context, _ json.RawMessage) (any, error) {
		return scheduleTick(ctx, e, svc, send, plaidQ) // the schedule
	}}.Handle
}

// scheduleTick is one EventBridge tick: queue a pull of every linked Qualpay
// merchant on the work queue (so deposits arrive with no webhook; their
// payouts mark the company due for a later tick) and a sync of every Plaid
// Item not synced within PLAID_SYNC_INTERVAL_MINUTES (each sync reconciles its
// company when the feed changed), then run the companies that are due.
func scheduleTick(ctx context.Context, e *app.Env, svc *reconsvc.Service, send func(context.Context, reconsvc.CompanyRef) error, plaidQ queue.Enqueuer) (reconsvc.ScheduleResult, error) {
	queued, failed, perr := workerfn.QualpayPulls(e).Schedule(ctx)
	if perr != nil || failed > 0 {
		e.Log.ErrorContext(ctx, "qualpay pulls not all queued", "queued", queued, "failed", failed, "err", perr)
	}
	var syncs int
	if plaidQ != nil {
		items := &plaiditems.Store{Store: e.Store, Now: e.Now}
		n, failed, err := items.Schedule(ctx, plaidQ, e.Cfg.PlaidSyncInterval)
		if err != nil || failed > 0 {
			e.Log.ErrorContext(ctx, "plaid syncs not all queued", "queued", n, "failed", failed, "err", err)
		}
		syncs = n
	}
	res, err := svc.Schedule(ctx, send)
	res.QualpayPulls, res.PlaidSyncs = queued, syncs
	return res, err
}

// Entry is the reconcile function's Lambda handler (RECONCILE_QUEUE_URL, read
// into the Env's Config, names the fan-out queue).
func Entry(e *app.Env) (any, error) {
	if e.Cfg.ReconcileQueueURL == "" {
		return nil, errors.New("RECONCILE_QUEUE_URL is not set")
	}
	return ReconcileEntry(e, e.Cfg.ReconcileQueueURL), nil
}
