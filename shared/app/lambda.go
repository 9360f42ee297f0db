package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/payrecon/payrecon/shared/httpapi"
)

// LambdaLogger is the Lambda JSON logger (request IDs injected) with redaction.
func LambdaLogger() *slog.Logger {
	return slog.New(httpapi.NewRedactingHandler(lambdacontext.NewLogHandler()))
}

// HTTPLambda builds the Env and returns the API Gateway v2 entry for one HTTP function.
// Tests call it with a map-backed getenv to exercise the exact Lambda path.
func HTTPLambda(ctx context.Context, getenv func(string) string, name string, log *slog.Logger) (httpapi.LambdaHandler, *Env, error) {
	build, ok := Functions[name]
	if !ok {
		return nil, nil, fmt.Errorf("unknown function %q", name)
	}
	env, err := NewEnv(ctx, ConfigFromEnv(getenv), log)
	if err != nil {
		return nil, nil, err
	}
	return httpapi.Lambda(build(env)), env, nil
}

// ServeHTTPLambda is the whole main of an HTTP function.
func ServeHTTPLambda(getenv func(string) string, name string) error {
	log := LambdaLogger()
	h, _, err := HTTPLambda(context.Background(), getenv, name, log)
	if err != nil {
		log.Error("cold start failed", "function", name, "err", err)
		return err
	}
	lambda.Start(h)
	return nil
}
