// Package sqsesm is the local stand-in for a Lambda SQS event source mapping:
// receive from a queue on moto_server, invoke the handler with an
// events.SQSEvent, delete what succeeded and leave reported failures to
// become visible again (after whatever visibility the handler set). It also
// creates FIFO queues with a dead-letter queue as template.yaml declares them.
//
// moto (the version on this machine) serves FIFO queues (MessageGroupId,
// MessageDeduplicationId, a group held while one of its messages is in flight),
// ChangeMessageVisibility and RedrivePolicy's maxReceiveCount, which the tests
// of shared/notify exercise; what is emulated here is only Lambda's poller.
package sqsesm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// API is the part of the SQS client used.
type API interface {
	CreateQueue(context.Context, *sqs.CreateQueueInput, ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// CreateFIFO creates name.fifo and its dead-letter queue name-dlq.fifo, with
// maxReceiveCount receives before a message moves there. It returns both URLs.
func CreateFIFO(ctx context.Context, api API, name string, maxReceiveCount, visibilitySeconds int) (string, string, error) {
	dlq, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq.fifo"),
		Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		return "", "", fmt.Errorf("create dlq: %w", err)
	}
	attrs, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", "", fmt.Errorf("dlq arn: %w", err)
	}
	redrive, _ := json.Marshal(map[string]any{"deadLetterTargetArn": attrs.Attributes["QueueArn"], "maxReceiveCount": fmt.Sprint(maxReceiveCount)})
	q, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + ".fifo"), Attributes: map[string]string{
		"FifoQueue": "true", "RedrivePolicy": string(redrive), "VisibilityTimeout": fmt.Sprint(visibilitySeconds),
	}})
	if err != nil {
		return "", "", fmt.Errorf("create queue: %w", err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl), nil
}

// Handler is an SQS-triggered Lambda handler with ReportBatchItemFailures.
type Handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// Poller feeds one queue to one handler.
type Poller struct {
	API      API
	QueueURL string
	Handler  Handler
	// BatchSize as in the template's event source (default 1).
	BatchSize int32
}

// Once receives one batch (no waiting), runs the handler and deletes the
// messages it did not report as failed. It returns how many it received.
func (p *Poller) Once(ctx context.Context) (int, error) {
	n := p.BatchSize
	if n <= 0 {
		n = 1
	}
	out, err := p.API.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.QueueURL), MaxNumberOfMessages: n,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil {
		return 0, fmt.Errorf("receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	arn := "arn:aws:sqs:us-east-1:000000000000:" + p.QueueURL[strings.LastIndex(p.QueueURL, "/")+1:]
	ev := events.SQSEvent{}
	for _, m := range out.Messages {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: "us-east-1"})
	}
	res, err := p.Handler(ctx, ev)
	if err != nil { // the whole batch failed: every message comes back
		return len(out.Messages), err
	}
	failed := map[string]bool{}
	for _, f := range res.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, m := range out.Messages {
		if failed[aws.ToString(m.MessageId)] {
			continue
		}
		if _, err := p.API.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(p.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
			return len(out.Messages), fmt.Errorf("delete: %w", err)
		}
	}
	return len(out.Messages), nil
}
