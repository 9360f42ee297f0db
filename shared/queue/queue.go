// Package queue carries asynchronous work (payout itemisation, Qualpay deposit
// pulls) from the webhook functions to the worker. In AWS it is an SQS queue
// with a dead-letter queue; locally and in tests the same worker runs in-process.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Job kinds.
const (
	KindStripeItemisePayout = "stripe.itemise_payout"
	KindQualpayPullDeposits = "qualpay.pull_deposits"
	// KindQualpayAccountUpdater applies a merchant's Account Updater results
	// to the company's vault customers.
	KindQualpayAccountUpdater = "qualpay.account_updater"
	KindPlaidSync             = "plaid.sync" // AccountID is the Plaid item_id
)

// Job is one unit of asynchronous work. Jobs are idempotent: the worker may see
// one more than once (SQS is at-least-once) and the result is the same.
type Job struct {
	Kind      string `json:"kind"`
	PartnerID string `json:"partner_id"`
	CompanyID string `json:"company_id"`
	AccountID string `json:"account_id"`          // acct_… or Qualpay merchant ID
	ObjectID  string `json:"object_id,omitempty"` // po_… for itemisation
	// Since/Until bound a Qualpay pull (YYYY-MM-DD); empty means the default window.
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
}

// Validate rejects jobs the worker cannot run (a poison message goes to the DLQ).
func (j Job) Validate() error {
	if j.Kind == "" || j.PartnerID == "" || j.CompanyID == "" || j.AccountID == "" {
		return fmt.Errorf("job %q: missing partner, company or account", j.Kind)
	}
	return nil
}

// Enqueuer accepts jobs. Consumers own this interface.
type Enqueuer interface {
	Enqueue(ctx context.Context, j Job) error
}

// Handler runs one job.
type Handler interface {
	Handle(ctx context.Context, j Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j Job) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, j Job) error { return f(ctx, j) }

// SQSAPI is the part of the SQS client the queue uses.
type SQSAPI interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQS enqueues onto an SQS queue; the worker Lambda consumes it.
type SQS struct {
	API      SQSAPI
	QueueURL string
}

// Enqueue sends the job as a JSON message.
func (q *SQS) Enqueue(ctx context.Context, j Job) error {
	if err := j.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if _, err := q.API.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.Kind, err)
	}
	return nil
}

// Decode parses an SQS message body into a Job. A body that is not a valid job
// is ErrPermanent: redelivering it cannot help.
func Decode(body string) (Job, error) {
	var j Job
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return Job{}, fmt.Errorf("decode job: %w: %w", ErrPermanent, err)
	}
	if err := j.Validate(); err != nil {
		return j, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return j, nil
}

// InProcess runs jobs on the same worker in this process, with SQS-like retries
// (MaxAttempts, then the job is logged as dead-lettered). With Sync the job runs
// before Enqueue returns (deterministic tests); otherwise on a goroutine and
// Wait blocks until every queued job is done.
type InProcess struct {
	Handler     Handler
	Log         *slog.Logger
	Sync        bool
	MaxAttempts int           // default 3
	Backoff     time.Duration // between attempts; default 10ms

	wg   sync.WaitGroup
	mu   sync.Mutex
	dead []Job
}

// Enqueue runs the job (now or in the background).
func (q *InProcess) Enqueue(ctx context.Context, j Job) error {
	if err := j.Validate(); err != nil {
		return err
	}
	// The job outlives the request that queued it, as it would on SQS.
	ctx = context.WithoutCancel(ctx)
	if q.Sync {
		q.run(ctx, j)
		return nil
	}
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.run(ctx, j)
	}()
	return nil
}

func (q *InProcess) run(ctx context.Context, j Job) {
	attempts, backoff := q.MaxAttempts, q.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if backoff <= 0 {
		backoff = 10 * time.Millisecond
	}
	var err error
	for i := 0; i < attempts; i++ {
		if err = q.Handler.Handle(ctx, j); err == nil {
			return
		}
		if errors.Is(err, ErrPermanent) {
			break // as the SQS handler does: retrying cannot fix it
		}
		time.Sleep(backoff << i)
	}
	q.mu.Lock()
	q.dead = append(q.dead, j)
	q.mu.Unlock()
	if q.Log != nil {
		q.Log.ErrorContext(ctx, "job dead-lettered", "kind", j.Kind, "partner_id", j.PartnerID, "object_id", j.ObjectID, "err", err)
	}
}

// Wait blocks until every background job has finished.
func (q *InProcess) Wait() { q.wg.Wait() }

// Dead returns jobs that failed every attempt.
func (q *InProcess) Dead() []Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Job(nil), q.dead...)
}

// ErrPermanent marks a job error that retrying cannot fix.
var ErrPermanent = errors.New("permanent job failure")
