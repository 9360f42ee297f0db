package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/local/localstack"
)

// functionEnv is what a deployed function sees on this stack: the Env's own
// configuration plus the SQS queues (created on moto_server, which also serves
// SQS) and local credentials. Only variables the template declares reach a
// function under `sam local invoke`; make invoke passes the same set.
func functionEnv(ctx context.Context, e *app.Env, motoURL string) (map[string]string, error) {
	c := e.Cfg
	sqsCfg := *e
	sqsCfg.Cfg.SQSEndpoint = motoURL
	q := sqsclient.New(&sqsCfg)
	queue := func(name string) (string, error) {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("create queue %s: %w", name, err)
		}
		return aws.ToString(out.QueueUrl), nil
	}
	work, err := queue(c.Table + "-work")
	if err != nil {
		return nil, err
	}
	recon, err := queue(c.Table + "-reconcile")
	if err != nil {
		return nil, err
	}
	plaid, err := queue(c.Table + "-plaid")
	if err != nil {
		return nil, err
	}
	splitsQ, err := queue(c.Table + "-splits")
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"STAGE": c.Stage, "TABLE_NAME": c.Table, "AWS_REGION": c.Region,
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"DYNAMODB_ENDPOINT": c.DynamoEndpoint, "SECRETSMANAGER_ENDPOINT": c.SecretsEndpoint, "SQS_ENDPOINT": motoURL,
		"STRIPE_API_URL": c.StripeAPIURL, "STRIPE_CONNECT_URL": c.StripeConnectURL, "QUALPAY_BASE_URL": c.QualpayBaseURL,
		"PUBLIC_BASE_URL": c.PublicBaseURL, "WORK_QUEUE_URL": work, "RECONCILE_QUEUE_URL": recon,
		"PLAID_BASE_URL": c.PlaidBaseURL, "PLAID_QUEUE_URL": plaid, "SPLITS_QUEUE_URL": splitsQ,
		"NOTIFY_QUEUE_URL": c.NotifyQueueURL, "WEBHOOK_ALLOW_LOOPBACK": "1",
	}, nil
}

// runningEnvFile is where `make run` leaves its functions' environment for make invoke.
const runningEnvFile = ".build/env.running.json"

// writeFunctionEnv writes env in `sam local invoke --env-vars` format.
func writeFunctionEnv(env map[string]string) (string, error) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, runningEnvFile)
	b, err := json.MarshalIndent(map[string]map[string]string{"Parameters": env}, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path) // atomic: make invoke never reads half a file
}

// queuedJobs is how many messages wait on the function env's work queue.
func queuedJobs(ctx context.Context, env map[string]string) (int, error) {
	e := &app.Env{Cfg: app.Config{SQSEndpoint: env["SQS_ENDPOINT"]}}
	awsCfg, err := app.AWSConfig(app.Config{Region: env["AWS_REGION"], SQSEndpoint: env["SQS_ENDPOINT"],
		AWSAccessKeyID: env["AWS_ACCESS_KEY_ID"], AWSSecretAccessKey: env["AWS_SECRET_ACCESS_KEY"]})
	if err != nil {
		return 0, err
	}
	e.AWS = awsCfg
	out, err := sqsclient.New(e).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(env["WORK_QUEUE_URL"]),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
}
