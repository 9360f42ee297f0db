// Package vaultfn builds the vault function: the Qualpay Customer Vault API and
// the daily Account Updater pass.
package vaultfn

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/workerfn"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/vault"
)

// Service builds the Qualpay Customer Vault service.
func Service(e *app.Env) *vault.Service {
	smclient.Use(e) // Qualpay credentials
	return vault.New(e.Store, e.Companies, e.Credentials, vault.Config{HTTP: e.HTTP, QualpayBaseURL: e.Cfg.QualpayBaseURL,
		Now: e.Now, Log: e.Log,
		// "cus_01j…" without the underscore, upper-cased: 29 letters and digits.
		NewCustomerID: func() string { return strings.ToUpper(strings.ReplaceAll(e.IDs.ID("cus"), "_", "")) }})
}

// Handler serves /v1/companies/{id}/qualpay/customers…
func Handler(e *app.Env) http.Handler {
	r := e.Router()
	vault.Routes(r, Service(e))
	return r.Handler()
}

// Entry is the vault function's Lambda handler: API Gateway HTTP requests (the
// Customer Vault), and anything else is the daily schedule (template.yaml
// VaultFunction, AccountUpdater). The pass lives here rather than in the
// worker, which runs the jobs it queues: the worker then sends nothing and
// links no SQS client (issue 17: its bootstrap under 9 MB).
func Entry(e *app.Env) (any, error) {
	return app.Triggers{HTTP: httpapi.Lambda(Handler(e)), Other: func(ctx context.Context, _ json.RawMessage) (any, error) {
		return ScheduleAccountUpdater(ctx, e, workerfn.Queue(e), e.Now())
	}}.Handle, nil
}

// ScheduleResult is what one scheduled pass queued.
type ScheduleResult struct {
	Due    int `json:"due"`
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
}

// ScheduleAccountUpdater is the daily pass: one Account Updater job per
// company due on now's date, on the work queue (so companies run apart and a
// failure is retried alone). A job not sent leaves the company due.
func ScheduleAccountUpdater(ctx context.Context, e *app.Env, q queue.Enqueuer, now time.Time) (ScheduleResult, error) {
	due, err := Service(e).DueForAccountUpdater(ctx, now)
	if err != nil {
		return ScheduleResult{}, err
	}
	res := ScheduleResult{Due: len(due)}
	for _, d := range due {
		j := queue.Job{Kind: queue.KindQualpayAccountUpdater, PartnerID: d.PartnerID, CompanyID: d.CompanyID,
			AccountID: strconv.FormatInt(d.MerchantID, 10)}
		if err := q.Enqueue(ctx, j); err != nil {
			res.Failed++
			e.Log.ErrorContext(ctx, "account updater job not queued", "partner_id", d.PartnerID, "company_id", d.CompanyID, "err", err)
			continue
		}
		res.Sent++
	}
	return res, nil
}
