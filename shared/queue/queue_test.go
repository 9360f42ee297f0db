package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payrecon/payrecon/shared/queue"
)

var job = queue.Job{Kind: queue.KindStripeItemisePayout, PartnerID: "ptr_1", CompanyID: "co_1", AccountID: "acct_1", ObjectID: "po_1"}

func TestInProcess(t *testing.T) {
	tests := []struct {
		name      string
		failures  int32
		permanent bool
		sync      bool
		wantCalls int32
		wantDead  int
	}{
		{"succeeds first time", 0, false, false, 1, 0},
		{"retried then succeeds", 2, false, false, 3, 0},
		{"dead-lettered after max attempts", 99, false, false, 3, 1},
		{"sync runs before enqueue returns", 1, false, true, 2, 0},
		{"permanent failure is not retried", 99, true, false, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			q := &queue.InProcess{Sync: tc.sync, Backoff: 1, Handler: queue.HandlerFunc(func(ctx context.Context, j queue.Job) error {
				if j != job {
					t.Errorf("job %+v", j)
				}
				if calls.Add(1) <= tc.failures {
					if tc.permanent {
						return fmt.Errorf("bad argument: %w", queue.ErrPermanent)
					}
					return errors.New("transient")
				}
				return nil
			})}
			ctx, cancel := context.WithCancel(context.Background())
			if err := q.Enqueue(ctx, job); err != nil {
				t.Fatal(err)
			}
			cancel() // the job outlives the request that queued it
			if tc.sync && calls.Load() != tc.wantCalls {
				t.Fatalf("sync: %d calls before return", calls.Load())
			}
			q.Wait()
			if calls.Load() != tc.wantCalls || len(q.Dead()) != tc.wantDead {
				t.Fatalf("calls %d dead %d", calls.Load(), len(q.Dead()))
			}
		})
	}
}

type fakeSQS struct{ in *sqs.SendMessageInput }

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.in = in
	return &sqs.SendMessageOutput{}, nil
}

func TestSQSRoundTrip(t *testing.T) {
	f := &fakeSQS{}
	q := &queue.SQS{API: f, QueueURL: "https://sqs.local/q"}
	if err := q.Enqueue(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if *f.in.QueueUrl != "https://sqs.local/q" {
		t.Fatalf("queue url %s", *f.in.QueueUrl)
	}
	got, err := queue.Decode(*f.in.MessageBody)
	if err != nil || got != job {
		t.Fatalf("decoded %+v %v", got, err)
	}
	for name, body := range map[string]string{"not json": "{", "missing fields": `{"kind":"x"}`} {
		if _, err := queue.Decode(body); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if err := q.Enqueue(context.Background(), queue.Job{Kind: "x"}); err == nil {
		t.Fatal("invalid job enqueued")
	}
}
