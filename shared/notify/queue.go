package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Message is one delivery on the FIFO queue: an event to one endpoint.
type Message struct {
	EventID    string `json:"event_id"`
	PartnerID  string `json:"partner_id"`
	EndpointID string `json:"endpoint_id"`
	ObjectID   string `json:"object_id"`
	// Resend is set by resend and replay (a nonce): the delivery goes out even
	// if an earlier one succeeded, and is not deduplicated against it.
	Resend string `json:"resend,omitempty"`
}

// GroupID keeps deliveries to one endpoint about one object in order (SQS FIFO
// MessageGroupId: at most 128 characters, so a long object ID is hashed).
func (m Message) GroupID() string {
	g := m.EndpointID + ":" + m.ObjectID
	if len(g) > 128 || strings.ContainsFunc(g, func(r rune) bool { return r <= ' ' || r > '~' }) {
		h := sha256.Sum256([]byte(m.ObjectID))
		g = m.EndpointID + ":" + hex.EncodeToString(h[:16])
	}
	return g
}

// DedupID makes the relay idempotent within SQS's 5-minute deduplication
// window (a stream retry or a sweep racing the stream sends once); after it,
// the sender's delivery summary skips an event already delivered.
func (m Message) DedupID() string {
	d := m.EventID + ":" + m.EndpointID
	if m.Resend != "" {
		d += ":" + m.Resend
	}
	if len(d) > 128 {
		h := sha256.Sum256([]byte(d))
		d = hex.EncodeToString(h[:])
	}
	return d
}

// Enqueuer puts deliveries on the delivery queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, msgs []Message) error
}

// Visibility delays a received message's next attempt (the retry backoff).
type Visibility interface {
	Delay(ctx context.Context, receiptHandle string, d time.Duration) error
}

// SQSAPI is the part of the SQS client the queue uses.
type SQSAPI interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SQSQueue is the FIFO delivery queue.
type SQSQueue struct {
	API SQSAPI
	URL string
}

// Enqueue sends msgs in batches of 10 (SendMessageBatch's limit); any entry
// not accepted is an error, so the caller keeps the event pending.
func (q *SQSQueue) Enqueue(ctx context.Context, msgs []Message) error {
	for start := 0; start < len(msgs); start += 10 {
		end := min(start+10, len(msgs))
		entries := make([]sqstypes.SendMessageBatchRequestEntry, 0, end-start)
		for i, m := range msgs[start:end] {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
				Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(string(b)),
				MessageGroupId: aws.String(m.GroupID()), MessageDeduplicationId: aws.String(m.DedupID()),
			})
		}
		out, err := q.API.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			return fmt.Errorf("notify: send deliveries: %w", err)
		}
		if len(out.Failed) > 0 {
			return fmt.Errorf("notify: %d deliveries not queued (first: %s)", len(out.Failed), aws.ToString(out.Failed[0].Code))
		}
	}
	return nil
}

// Delay sets the message's visibility timeout (capped at MaxDelay: SQS refuses
// more than what is left of 12 h since the receive).
func (q *SQSQueue) Delay(ctx context.Context, receiptHandle string, d time.Duration) error {
	d = min(d, MaxDelay)
	_, err := q.API.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: aws.String(receiptHandle), VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		return fmt.Errorf("notify: change visibility: %w", err)
	}
	return nil
}
