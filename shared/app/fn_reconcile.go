package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

// ReconService builds reconciliation over the Env (bank-feed, reconcile and
// reports share it). Payout ingestion marks each changed payout (PayoutStore's
// OnChange calls reconsvc.MarkPayoutChanged), so runs read only changed payouts.
func ReconService(e *Env) *reconsvc.Service {
	return &reconsvc.Service{
		Store: e.Store, Payouts: PayoutStore(e), Invoices: InvoiceStore(e), IDs: e.IDs, Now: e.Now, Log: e.Log,
	}
}

// BankFeedHandler serves POST /v1/companies/{id}/bank-transactions.
func BankFeedHandler(e *Env) http.Handler {
	r := e.Router()
	reconsvc.FeedRoutes(r, ReconService(e), e.Companies)
	return r.Handler()
}

// ReconcileHandler serves on-demand runs, manual matches, unmatching and accounts.
func ReconcileHandler(e *Env) http.Handler {
	r := e.Router()
	reconsvc.ReconcileRoutes(r, ReconService(e), e.Companies)
	return r.Handler()
}

// ReportsHandler serves the read side: matches, journal entries, exceptions, bank transactions.
func ReportsHandler(e *Env) http.Handler {
	r := e.Router()
	reconsvc.ReportRoutes(r, ReconService(e), e.Companies)
	return r.Handler()
}

// ReconcileEntry is the reconcile function's Lambda entry. One function takes
// three triggers, told apart by the event's shape: API Gateway HTTP requests
// (on-demand runs and manual tools), the EventBridge schedule (find due
// companies and fan them out to the queue), and the queue's SQS messages (run
// one company each; failures reported per message so only they are retried).
func ReconcileEntry(e *Env, queueURL string) func(context.Context, json.RawMessage) (any, error) {
	svc := ReconService(e)
	httpH := httpapi.Lambda(ReconcileHandler(e))
	send := svc.Inline
	if queueURL != "" {
		cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(e.Cfg.Region))
		if err == nil {
			send = (&reconsvc.SQSSender{API: sqs.NewFromConfig(cfg), QueueURL: queueURL}).Send
		} else {
			send = func(context.Context, reconsvc.CompanyRef) error { return err }
		}
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			RouteKey string `json:"routeKey"`
			Records  []struct {
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		_ = json.Unmarshal(raw, &probe)
		switch {
		case probe.RouteKey != "":
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			return httpH(ctx, ev)
		case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			var res events.SQSEventResponse
			for _, m := range ev.Records {
				ref, err := reconsvc.DecodeRef(m.Body)
				if err == nil {
					_, err = svc.RunRef(ctx, ref)
				}
				if err != nil {
					e.Log.ErrorContext(ctx, "reconcile job failed", "message_id", m.MessageId, "err", err)
					res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				}
			}
			return res, nil
		default: // the schedule
			return svc.Schedule(ctx, send)
		}
	}
}

// ServeReconcileLambda is the whole main of the reconcile function.
func ServeReconcileLambda(getenv func(string) string) error {
	log := LambdaLogger()
	env, err := NewEnv(context.Background(), ConfigFromEnv(getenv), log)
	if err != nil {
		log.Error("cold start failed", "err", err)
		return err
	}
	q := getenv("RECONCILE_QUEUE_URL")
	if q == "" {
		return errors.New("RECONCILE_QUEUE_URL is not set")
	}
	lambda.Start(ReconcileEntry(env, q))
	return nil
}
