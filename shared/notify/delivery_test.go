package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/local/faults"

	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
)

// An endpoint that answers 500 three times and then 200 receives each event
// exactly once successfully, and the events about one object in order: the
// failing first one holds back the rest of its group. BatchSize 1 is the
// template's; 10 checks that a batch holding a whole group keeps order too.
func TestRetriesThenDeliversOnceInOrder(t *testing.T) {
	for _, batch := range []int32{1, 10} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) { retriesInOrder(t, batch) })
	}
}

func retriesInOrder(t *testing.T, batch int32) {
	w := newWorld(t)
	w.poller.BatchSize = batch
	ctx := context.Background()
	rec, srv := newReceiver(t, 500, 500, 500)
	ep := w.endpoint(srv.URL, outbox.InvoicePartiallyPaid, outbox.InvoicePaid)
	rec.verifyWith(t, ep.Secret)
	other := w.endpoint(srv.URL+"/other", outbox.MatchCreated) // not subscribed: gets nothing

	e1 := w.emit(outbox.InvoicePartiallyPaid, "inv_1", map[string]any{"id": "inv_1", "amount_paid": 500})
	e2 := w.emit(outbox.InvoicePartiallyPaid, "inv_1", map[string]any{"id": "inv_1", "amount_paid": 900})
	e3 := w.emit(outbox.InvoicePaid, "inv_1", map[string]any{"id": "inv_1", "amount_paid": 1000})
	res, err := w.relay.Sweep(ctx)
	if err != nil || res.Pending != 3 || res.Deliveries != 3 {
		t.Fatalf("sweep %+v, %v", res, err)
	}
	want := []string{e1.ID, e2.ID, e3.ID}
	w.drain(func() bool { return len(rec.succeeded()) == 3 })

	// A second sweep finds nothing pending; more polling delivers nothing twice.
	if res, err := w.relay.Sweep(ctx); err != nil || res.Pending != 0 {
		t.Fatalf("second sweep %+v, %v", res, err)
	}
	for i := 0; i < 5; i++ {
		if _, err := w.poller.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.deliveries()
	if !slices.Equal(rec.succeeded(), want) {
		t.Fatalf("succeeded %v, want %v", rec.succeeded(), want)
	}
	if len(got) != 6 {
		t.Fatalf("%d requests, want 3 failures + 3 successes", len(got))
	}
	for i, d := range got {
		if !d.verified {
			t.Errorf("request %d: signature %q does not verify with the reference library", i, d.sig)
		}
		if i < 4 && d.id != e1.ID {
			t.Errorf("request %d is %s: e1 must be retried before anything after it", i, d.id)
		}
		if want, err := mustEvent(t, w, d.id).Body(); err != nil || string(d.body) != string(want) {
			t.Errorf("request %d body %s", i, d.body)
		}
	}
	// The delivery log: 3 failed attempts with their 500, then one success.
	log, _, err := w.svc.Deliveries(ctx, w.pid, e1.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for _, a := range log {
		codes = append(codes, a.ResponseCode)
		if a.EndpointID != ep.ID || a.ResponseBody == "" {
			t.Errorf("attempt %+v", a)
		}
	}
	if !slices.Equal(codes, []int{500, 500, 500, 200}) || log[3].Status != notify.StatusSucceeded || log[3].Attempt != 4 {
		t.Fatalf("attempts %v, last %+v", codes, log[len(log)-1])
	}
	for _, e := range []string{e2.ID, e3.ID} {
		l, _, _ := w.svc.Deliveries(ctx, w.pid, e, "")
		for _, a := range l {
			if a.EndpointID == other.ID {
				t.Fatalf("the endpoint not subscribed to invoices got %s", e)
			}
		}
	}
}

func mustEvent(t *testing.T, w *world, id string) outbox.Event {
	t.Helper()
	ev, err := w.svc.Event(context.Background(), w.pid, id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// 410 Gone disables the endpoint; what is still queued for it is dropped.
func TestGoneDisablesEndpoint(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rec, srv := newReceiver(t, http.StatusGone, http.StatusGone)
	ep := w.endpoint(srv.URL, outbox.MatchCreated)
	e1 := w.emit(outbox.MatchCreated, "mt_1", map[string]string{"id": "mt_1"})
	e2 := w.emit(outbox.MatchCreated, "mt_2", map[string]string{"id": "mt_2"})
	if _, err := w.relay.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	w.drain(func() bool {
		a, _, _ := w.svc.Deliveries(ctx, w.pid, e1.ID, "")
		b, _, _ := w.svc.Deliveries(ctx, w.pid, e2.ID, "")
		return len(a) == 1 && len(b) == 1
	})
	got, err := w.svc.Get(ctx, w.pid, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != notify.Disabled || got.DisabledReason == "" {
		t.Fatalf("endpoint %+v", got)
	}
	if n := len(rec.deliveries()); n != 1 {
		t.Fatalf("%d requests after the 410, want 1", n)
	}
	// Disabled endpoints get no new deliveries.
	w.emit(outbox.MatchCreated, "mt_3", map[string]string{"id": "mt_3"})
	if res, err := w.relay.Sweep(ctx); err != nil || res.Deliveries != 0 {
		t.Fatalf("sweep %+v %v", res, err)
	}
}

// A crash between the change and the send: the change and its event commit,
// the relay fails (the stream invocation reports the record failed), and the
// sweep, once the event is old enough, still delivers it exactly once.
func TestCrashBetweenChangeAndSendStillDelivers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rec, srv := newReceiver(t)
	ep := w.endpoint(srv.URL, outbox.ConnectionCreated)
	rec.verifyWith(t, ep.Secret)
	ev := w.emit(outbox.ConnectionCreated, "acct_1", map[string]string{"id": "acct_1"})

	crashed := &notify.Relay{Store: w.env.Store, Queue: failingQueue{}, Now: w.env.Now, Log: w.env.Log}
	res, err := crashed.HandleStream(ctx, streamInsert(ev))
	if err != nil || len(res.BatchItemFailures) != 1 {
		t.Fatalf("stream with the queue down: %+v %v", res, err)
	}
	// The sweep leaves young events to the stream...
	sweep := &notify.Relay{Store: w.env.Store, Queue: w.queue, Now: w.env.Now, Log: w.env.Log}
	if r, err := sweep.Sweep(ctx); err != nil || r.Pending != 0 {
		t.Fatalf("sweep of a fresh event %+v %v", r, err)
	}
	// ...and fans out what is still pending after its minimum age.
	sweep.Now = func() time.Time { return w.env.Now().Add(3 * time.Minute) }
	if r, err := sweep.Sweep(ctx); err != nil || r.Pending != 1 || r.Deliveries != 1 {
		t.Fatalf("sweep after 3 minutes %+v %v", r, err)
	}
	// The stream's retry comes too (after the sweep): deduplicated.
	if res, err := w.relay.HandleStream(ctx, streamInsert(ev)); err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("stream retry %+v %v", res, err)
	}
	w.drain(func() bool { return len(rec.succeeded()) == 1 })
	for i := 0; i < 3; i++ {
		_, _ = w.poller.Once(ctx)
	}
	if got := rec.deliveries(); len(got) != 1 || got[0].id != ev.ID || !got[0].verified {
		t.Fatalf("deliveries %+v", got)
	}
}

type failingQueue struct{}

func (failingQueue) Enqueue(context.Context, []notify.Message) error {
	return errors.New("relay crashed")
}

// streamInsert is the DynamoDB stream record the table's stream carries for ev.
func streamInsert(ev outbox.Event) events.DynamoDBEvent {
	s := events.NewStringAttribute
	return events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{{
		EventName: "INSERT", EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{SequenceNumber: "100", StreamViewType: "NEW_IMAGE",
			Keys: map[string]events.DynamoDBAttributeValue{"pk": s(ev.PK), "sk": s(ev.SK)},
			NewImage: map[string]events.DynamoDBAttributeValue{"pk": s(ev.PK), "sk": s(ev.SK), "type": s(ev.Type),
				"partner_id": s(ev.PartnerID), "object_id": s(ev.ObjectID), "id": s(ev.ID)}},
	}}}
}

// A sweep bounded to n events fans out the n oldest pending ones across all
// shards, oldest first; the next run takes the rest.
func TestSweepTakesOldestFirst(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, srv := newReceiver(t)
	w.endpoint(srv.URL, outbox.PayoutItemised)
	var evs []outbox.Event
	for i := 0; i < 5; i++ {
		evs = append(evs, w.emit(outbox.PayoutItemised, fmt.Sprintf("po_%d", i), map[string]int{"n": i}))
	}
	w.relay.SweepMax = 2
	res, err := w.relay.Sweep(ctx)
	if err != nil || res.Pending != 2 || res.Deliveries != 2 {
		t.Fatalf("first sweep %+v %v", res, err)
	}
	for i, ev := range evs {
		var item struct {
			GSI1PK string `dynamodbav:"gsi1pk"`
		}
		if err := w.env.Store.Get(ctx, ev.PK, ev.SK, &item); err != nil {
			t.Fatal(err)
		}
		if pending := item.GSI1PK != ""; pending != (i >= 2) {
			t.Fatalf("event %d pending=%v after a sweep of 2", i, pending)
		}
	}
	if res, err := w.relay.Sweep(ctx); err != nil || res.Pending != 2 {
		t.Fatalf("second sweep %+v %v", res, err)
	}
}

// An endpoint that never succeeds gets MaxAttempts attempts; the last is
// marked final and the message lands in the FIFO dead-letter queue (the
// queue's maxReceiveCount = MaxAttempts), leaving the queue empty.
func TestGivesUpToDeadLetterQueue(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	answers := make([]int, 50)
	for i := range answers {
		answers[i] = http.StatusServiceUnavailable
	}
	rec, srv := newReceiver(t, answers...)
	ep := w.endpoint(srv.URL, outbox.SplitTransferFailed)
	ev := w.emit(outbox.SplitTransferFailed, "tr_1", map[string]string{"id": "tr_1"})
	if _, err := w.relay.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	api := sqsclient.New(w.env.Env)
	inDLQ := func() int {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.dlq), VisibilityTimeout: 1})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Messages)
	}
	w.drain(func() bool { return len(rec.deliveries()) >= notify.MaxAttempts && inDLQ() == 1 })
	if n := len(rec.deliveries()); n != notify.MaxAttempts {
		t.Fatalf("%d requests, want %d", n, notify.MaxAttempts)
	}
	log, _, err := w.svc.Deliveries(ctx, w.pid, ev.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	last := log[len(log)-1]
	if len(log) != notify.MaxAttempts || !last.Final || last.Attempt != notify.MaxAttempts || last.ResponseCode != 503 || last.EndpointID != ep.ID {
		t.Fatalf("%d attempts, last %+v", len(log), last)
	}
}

// A response body that is not UTF-8 (or is cut inside a character at the
// 1 KiB cap) is logged as valid UTF-8, within the cap.
func TestResponseBodyKeptAsValidUTF8(t *testing.T) {
	w := newWorld(t)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.WriteHeader(http.StatusBadGateway)
		_, _ = rw.Write([]byte("\xff\xfe" + strings.Repeat("é", 2000)))
	}))
	defer srv.Close()
	log := w.attemptOnce(w.sender, srv.URL, outbox.ExceptionResolved, "exc_2", notify.Retry)
	if len(log) != 1 || !utf8.ValidString(log[0].ResponseBody) || len(log[0].ResponseBody) > notify.MaxResponseKept+8 {
		t.Fatalf("log %d entries", len(log))
	}
}

// A delivery that succeeded but whose log write failed (DynamoDB down after
// the POST) is acknowledged, not sent again.
func TestDeliveredButNotLoggedIsNotResent(t *testing.T) {
	ft := faults.New(nil)
	w := newWorld(t, func(c *app.Config) { c.AWSTransport = ft })
	ctx := context.Background()
	rec, srv := newReceiver(t)
	ep := w.endpoint(srv.URL, outbox.InvoicePaid)
	rec.verifyWith(t, ep.Secret)
	w.emit(outbox.InvoicePaid, "inv_9", map[string]string{"id": "inv_9"})
	if _, err := w.relay.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	ft.Add(faults.Rule{Operation: "BatchWriteItem", Kind: faults.Internal, Times: -1}) // the attempt log (notify.Sender.record)
	if n, err := w.poller.Once(ctx); err != nil || n != 1 {
		t.Fatalf("poll: %d %v", n, err)
	}
	ft.Clear()
	// Acknowledged: deleted, not merely invisible until it comes back.
	attrs, err := sqsclient.New(w.env.Env).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(w.queue.URL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	if a := attrs.Attributes; a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("queue still holds the delivery: %v", a)
	}
	if got := rec.deliveries(); len(got) != 1 || !got[0].verified {
		t.Fatalf("deliveries %+v", got)
	}
	if !strings.Contains(w.env.Logs.String(), "delivery failed") {
		t.Fatal("the lost log write is not logged")
	}
}

// SQS delivers at least once: the same message received again after it
// succeeded is neither sent nor logged a second time, for a relay delivery
// and for a resend (which carries a nonce and once skipped the check).
func TestRedeliveredMessageSentOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rec, srv := newReceiver(t)
	ep := w.endpoint(srv.URL, outbox.InvoicePaid)
	ev := w.emit(outbox.InvoicePaid, "inv_7", map[string]string{"id": "inv_7"})
	tests := []struct {
		name string
		m    notify.Message
	}{
		{"relay delivery", notify.Message{EventID: ev.ID, PartnerID: w.pid, EndpointID: ep.ID, ObjectID: "inv_7"}},
		{"resend", notify.Message{EventID: ev.ID, PartnerID: w.pid, EndpointID: ep.ID, ObjectID: "inv_7", Resend: "rs_1"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for receive := 1; receive <= 2; receive++ {
				if out, _, err := w.sender.Deliver(ctx, tc.m, 1); err != nil || out != notify.Done {
					t.Fatalf("receive %d: %v %v", receive, out, err)
				}
			}
			if got := len(rec.deliveries()); got != i+1 {
				t.Fatalf("%d POSTs in all, want %d", got, i+1)
			}
			log, _, err := w.svc.Deliveries(ctx, w.pid, ev.ID, "")
			if err != nil || len(log) != i+1 {
				t.Fatalf("delivery log %+v %v, want %d attempts", log, err, i+1)
			}
		})
	}
}

// A delivery queued (or retrying) while the endpoint subscribed to the type is
// dropped, not sent, once the partner unsubscribes it.
func TestUnsubscribedTypeNotDelivered(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rec, srv := newReceiver(t)
	ep := w.endpoint(srv.URL, outbox.InvoicePaid, outbox.MatchCreated)
	ev := w.emit(outbox.InvoicePaid, "inv_8", map[string]string{"id": "inv_8"})
	only := []string{outbox.MatchCreated}
	if _, err := w.svc.Update(ctx, w.pid, ep.ID, notify.EndpointInput{Events: &only}); err != nil {
		t.Fatal(err)
	}
	m := notify.Message{EventID: ev.ID, PartnerID: w.pid, EndpointID: ep.ID, ObjectID: "inv_8"}
	if out, _, err := w.sender.Deliver(ctx, m, 2); err != nil || out != notify.Done {
		t.Fatalf("outcome %v %v", out, err)
	}
	if got := rec.deliveries(); len(got) != 0 {
		t.Fatalf("an unsubscribed type was delivered: %+v", got)
	}
	log, _, err := w.svc.Deliveries(ctx, w.pid, ev.ID, "")
	if err != nil || len(log) != 1 || log[0].Status != notify.StatusDropped {
		t.Fatalf("delivery log %+v %v, want one dropped attempt", log, err)
	}
}
