// Package sqsclient builds the SQS client of the functions that send to or
// consume a queue (its own package so the others do not link the SQS SDK).
package sqsclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/app"
)

// New is an SQS client over the Env's AWS config (SQS_ENDPOINT when local).
func New(e *app.Env) *sqs.Client {
	return sqs.NewFromConfig(e.AWS, func(o *sqs.Options) {
		if e.Cfg.SQSEndpoint != "" {
			o.BaseEndpoint = aws.String(e.Cfg.SQSEndpoint)
		}
	})
}
