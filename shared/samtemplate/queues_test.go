package samtemplate_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// TestSQSEventSources: every queue a function consumes is set up as AWS
// advises, so a failed message is retried, then kept, never silently lost.
func TestSQSEventSources(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	srcs, queues, err := samtemplate.SQSSources(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) < 5 {
		t.Fatalf("%d SQS event sources: the parse lost some", len(srcs))
	}
	for _, s := range srcs {
		t.Run(s.Function+"."+s.Event, func(t *testing.T) {
			q := s.Queue
			// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html:
			// the visibility timeout at least six times the function's timeout.
			if q.VisibilityTimeout < 6*s.FunctionTimeout {
				t.Errorf("%s VisibilityTimeout %d s < 6 x the function's %d s", q.LogicalID, q.VisibilityTimeout, s.FunctionTimeout)
			}
			// Our handlers report failures message by message.
			if !slices.Contains(s.ResponseTypes, "ReportBatchItemFailures") {
				t.Errorf("no ReportBatchItemFailures: one failure retries the whole batch")
			}
			dlq, ok := queues[q.DeadLetter]
			if q.MaxReceiveCount == 0 || !ok {
				t.Fatalf("%s has no dead-letter queue: a message failing for good is retried until it expires", q.LogicalID)
			}
			// A message must reach the dead-letter queue before it expires.
			if window := q.VisibilityTimeout * q.MaxReceiveCount; window >= q.Retention {
				t.Errorf("%s: %d receives x %d s = %d s of retries >= its retention %d s: messages expire instead of being dead-lettered",
					q.LogicalID, q.MaxReceiveCount, q.VisibilityTimeout, window, q.Retention)
			}
			// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html:
			// a standard queue's message keeps its enqueue time in the DLQ.
			if dlq.Retention < q.Retention {
				t.Errorf("%s retention %d s < %s's %d s", dlq.LogicalID, dlq.Retention, q.LogicalID, q.Retention)
			}
		})
	}
}

// TestEveryDeadLetterQueueAlarms: a message reaches a dead-letter queue only
// after every retry failed (split money not moved, a payout not itemised, a
// notification given up), so each DLQ alarms the operators on its first
// message. A new queue without its alarm fails here.
func TestEveryDeadLetterQueueAlarms(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "template.yaml")
	_, queues, err := samtemplate.SQSSources(path)
	if err != nil {
		t.Fatal(err)
	}
	alarms, err := samtemplate.Alarms(path)
	if err != nil {
		t.Fatal(err)
	}
	dlqs := map[string]bool{}
	for _, q := range queues {
		if q.DeadLetter != "" {
			dlqs[q.DeadLetter] = true
		}
	}
	if len(dlqs) < 5 {
		t.Fatalf("%d dead-letter queues: the parse lost some", len(dlqs))
	}
	for dlq := range dlqs {
		t.Run(dlq, func(t *testing.T) {
			for _, a := range alarms {
				// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
				if a.Namespace == "AWS/SQS" && a.MetricName == "ApproximateNumberOfMessagesVisible" &&
					a.Dimensions["QueueName"] == dlq+".QueueName" && a.ComparisonOperator == "GreaterThanThreshold" &&
					a.Threshold == 0 && len(a.AlarmActions) > 0 {
					return
				}
			}
			t.Fatalf("no alarm on %s's first message with an action", dlq)
		})
	}
}
