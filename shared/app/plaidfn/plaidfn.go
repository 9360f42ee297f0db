// Package plaidfn builds the plaid function: Plaid credentials, Link tokens,
// Items, the Plaid webhook (HTTP) and the Item syncs (its SQS queue).
package plaidfn

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconrun"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/plaid"
	"github.com/payrecon/payrecon/shared/plaiditems"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

var (
	services    sync.Map // *app.Env -> *plaid.Service (one key cache per cold start)
	localQueues sync.Map // *app.Env -> *queue.InProcess
)

// Service builds the Plaid integration over the Env (once per Env).
func Service(e *app.Env) *plaid.Service {
	if s, ok := services.Load(e); ok {
		return s.(*plaid.Service)
	}
	smclient.Use(e) // Plaid access tokens
	runs := reconrun.Queue(e)
	s := &plaid.Service{
		Items: Items(e), Secrets: e.Secrets, Stage: e.Cfg.Stage, HTTP: e.HTTP, BaseURL: e.Cfg.PlaidBaseURL,
		PublicBaseURL: e.Cfg.PublicBaseURL, Feed: reconrun.Service(e), Queue: Queue(e), Keys: &plaid.KeyCache{},
		Now: e.Now, IDs: e.IDs, Log: e.Log,
		// The reconcile run follows the sync that changed the feed. The
		// reconcile function runs it (its queue; in this process locally):
		// the plaid function stores bank lines and does not link the matcher.
		Reconcile: func(ctx context.Context, pid, cid string) error {
			return runs(ctx, reconsvc.CompanyRef{PartnerID: pid, CompanyID: cid})
		},
	}
	v, _ := services.LoadOrStore(e, s)
	return v.(*plaid.Service)
}

// Items is the Item store.
func Items(e *app.Env) *plaiditems.Store { return &plaiditems.Store{Store: e.Store, Now: e.Now} }

// Queue is the Plaid sync queue: SQS when PLAID_QUEUE_URL is set (AWS), else
// an in-process queue running the same sync (local runner, tests).
func Queue(e *app.Env) queue.Enqueuer {
	if e.Cfg.PlaidQueueURL != "" {
		return &queue.SQS{API: sqsclient.New(e), QueueURL: e.Cfg.PlaidQueueURL}
	}
	return LocalQueue(e)
}

// LocalQueue is the Env's in-process sync queue (tests call Wait on it).
func LocalQueue(e *app.Env) *queue.InProcess {
	q, _ := localQueues.LoadOrStore(e, &queue.InProcess{Log: e.Log,
		Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error { return Service(e).Handle(ctx, j) })})
	return q.(*queue.InProcess)
}

// Handler serves the plaid function's HTTP routes.
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	plaid.Routes(r, Service(e), e.Companies)
	return r.Handler()
}

// Entry is the plaid function's Lambda handler: API Gateway HTTP requests and
// the sync queue's SQS batches (failures reported per message).
func Entry(e *app.Env) (any, error) {
	if e.Cfg.PlaidQueueURL == "" {
		return nil, errors.New("PLAID_QUEUE_URL is not set")
	}
	return app.Triggers{HTTP: httpapi.Lambda(Handler(e)), SQS: queue.SQSHandler(e.Log, Service(e))}.Handle, nil
}
