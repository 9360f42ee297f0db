// Command sdkfloor is the second cold-start reference: hello-world plus the
// most a payrecon function links and builds before its own code, the AWS
// SDK's DynamoDB, Secrets Manager and SQS clients from static credentials
// (as shared/app, smclient and sqsclient build them) and stripe-go, each
// making no call. Functions without partner credentials or a queue (payments,
// reports, bank-feed) build fewer, so their floor is lower than this one. The
// distance from hello-world to this is the SDK's share of a cold start.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stripe/stripe-go/v76"
)

func main() {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION"), Credentials: aws.NewCredentialsCache(
		awscreds.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""))}
	db := dynamodb.NewFromConfig(cfg)
	sm := secretsmanager.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	backend := stripe.GetBackend(stripe.APIBackend)
	lambda.Start(func(context.Context, map[string]any) (string, error) {
		_, _, _, _ = db, sm, q, backend
		return "ok", nil
	})
}
