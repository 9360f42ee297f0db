package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/payrecon/payrecon/shared/httpapi"
)

// LambdaLogger is the Lambda JSON logger (request IDs injected) with redaction.
func LambdaLogger() *slog.Logger {
	return slog.New(httpapi.NewRedactingHandler(lambdacontext.NewLogHandler()))
}

// Builder makes a function's http.Handler from the Env. Each function's builder
// lives in its own package (shared/app/<name>fn), so a Lambda binary links only
// its own function's code; shared/registry lists them all for the local runner.
type Builder func(*Env) http.Handler

// HTTPLambda builds the Env and returns the API Gateway v2 entry for one HTTP function.
// Tests call it with a map-backed getenv to exercise the exact Lambda path.
func HTTPLambda(ctx context.Context, getenv func(string) string, build Builder, log *slog.Logger) (httpapi.LambdaHandler, *Env, error) {
	env, err := NewEnv(ctx, ConfigFromEnv(getenv), log)
	if err != nil {
		return nil, nil, err
	}
	return httpapi.Lambda(build(env)), env, nil
}

// ServeHTTPLambda is the whole main of an HTTP function.
func ServeHTTPLambda(getenv func(string) string, build Builder) error {
	return Serve(getenv, func(e *Env) (any, error) { return httpapi.Lambda(build(e)), nil })
}

// Serve is the whole main of any function: build the Env, then the Lambda
// handler from it (any signature lambda.Start accepts), then serve.
func Serve(getenv func(string) string, handler func(*Env) (any, error)) error {
	log := LambdaLogger()
	env, err := NewEnv(context.Background(), ConfigFromEnv(getenv), log)
	if err == nil {
		var h any
		if h, err = handler(env); err == nil {
			lambda.Start(h)
			return nil
		}
	}
	log.Error("cold start failed", "err", err)
	return err
}

// Trigger names what invoked a function that several event sources share:
// the eventSource of a Records batch ("aws:sqs", "aws:dynamodb"), "http" for an
// API Gateway HTTP API (v2) request, or "" for anything else (a schedule's input).
func Trigger(raw json.RawMessage) string {
	var probe struct {
		RouteKey string `json:"routeKey"`
		Records  []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return ""
	}
	switch {
	case len(probe.Records) > 0:
		return probe.Records[0].EventSource
	case probe.RouteKey != "":
		return "http"
	}
	return ""
}

// Triggers are the handlers of a function that several event sources share.
type Triggers struct {
	HTTP httpapi.LambdaHandler
	// SQS takes the batches of the function's queue (nil: the function has none).
	SQS func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	// Other takes any other event, such as a schedule's input (nil: HTTP does).
	Other func(context.Context, json.RawMessage) (any, error)
}

// Handle is the Lambda handler: each event goes to its trigger's handler (Trigger).
func (t Triggers) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	switch trig := Trigger(raw); {
	case trig == "aws:sqs" && t.SQS != nil:
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return t.SQS(ctx, ev)
	case trig != "http" && t.Other != nil:
		return t.Other(ctx, raw)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	return t.HTTP(ctx, ev)
}
