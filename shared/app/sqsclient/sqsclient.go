// Package sqsclient builds the SQS client of the functions that send to or
// consume a queue (its own package so the others do not link the SQS SDK).
package sqsclient

import (
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/app"
)

// clients holds one client per Env: the function's queues share it (and its
// connection pool) instead of each building its own at cold start.
var clients sync.Map // *app.Env -> *sqs.Client

// New is the Env's SQS client over its AWS config (SQS_ENDPOINT when local;
// the Env's AWSTransport when a test injects one, as for DynamoDB).
func New(e *app.Env) *sqs.Client {
	if c, ok := clients.Load(e); ok {
		return c.(*sqs.Client)
	}
	c := sqs.NewFromConfig(e.AWS, func(o *sqs.Options) {
		if e.Cfg.SQSEndpoint != "" {
			o.BaseEndpoint = aws.String(e.Cfg.SQSEndpoint)
		}
		if e.Cfg.AWSTransport != nil {
			o.HTTPClient = &http.Client{Transport: e.Cfg.AWSTransport, Timeout: 10 * time.Second}
		}
	})
	got, _ := clients.LoadOrStore(e, c)
	return got.(*sqs.Client)
}
