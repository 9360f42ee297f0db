package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/payrecon/payrecon/shared/app/notifyfn"
	"github.com/payrecon/payrecon/shared/app/sqsclient"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/sqsesm"
	"github.com/payrecon/payrecon/shared/local/streamesm"
	"github.com/payrecon/payrecon/shared/local/webhookrecv"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
)

// notifications is the local delivery pipeline (issue 20), the functions'
// handlers run in process as Lambda would run them: the relay on the table's
// stream (DynamoDB Local serves DynamoDB Streams; streamesm.Poller stands in
// for the event source mapping and its filter) plus the sweep, and the sender
// on the SQS FIFO queue on moto_server (sqsesm.Poller).
type notifications struct {
	relay    *notify.Relay
	stream   *streamesm.Poller
	poller   *sqsesm.Poller
	receiver *webhookrecv.Receiver
	URL      string // the receiver's loopback URL
	Endpoint string // its endpoint ID
	base     string // the API
}

// startNotifications starts the loopback receiver and registers it as a
// webhook endpoint of the demo partner for every event type, through the API
// (http to loopback is allowed because the local runner sets
// WEBHOOK_ALLOW_LOOPBACK, which AWS never honours).
func startNotifications(ctx context.Context, l *local, base string) (*notifications, error) {
	recv := &webhookrecv.Receiver{}
	url, err := serveLoopback(recv)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]any{"url": url + "/webhooks", "events": outbox.Types, "description": "local runner receiver"})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/webhook-endpoints", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+l.Demo.APIKey)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var c notify.Created
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil || res.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("register the local receiver: status %d, %v", res.StatusCode, err)
	}
	if err := recv.SetSecret(c.Secret); err != nil {
		return nil, err
	}
	q := notifyfn.Queue(l.Env)
	n := &notifications{receiver: recv, URL: url + "/webhooks", Endpoint: c.ID, base: base,
		relay:  notifyfn.Relay(l.Env, q),
		poller: &sqsesm.Poller{API: sqsclient.New(l.Env), QueueURL: q.URL, Handler: notifyfn.Sender(l.Env, q).HandleSQS, BatchSize: 1}}
	n.stream = &streamesm.Poller{API: dynamodbstreams.NewFromConfig(l.Env.AWS, func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(l.Env.Cfg.DynamoEndpoint)
	}), StreamARN: l.StreamARN, Handler: n.relay.HandleStream, Filter: outboxPending, MaxRetries: 10}
	return n, nil
}

// outboxPending is the relay's FilterCriteria in template.yaml (checked there
// by notify's TestTemplateStreamFilter): an event item or an invoice whose
// NewImage is on the pending index.
// {"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"EVT#"}]}},"NewImage":{"gsi1pk":{"S":[{"prefix":"OUTBOX#PENDING#"}]}}}}
// {"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"INVOICE#"}]}},"NewImage":{"gsi1pk":{"S":[{"prefix":"OUTBOX#PENDING#"}]}}}}
func outboxPending(r events.DynamoDBEventRecord) bool {
	sk, ok := r.Change.Keys["sk"]
	g, pending := r.Change.NewImage["gsi1pk"]
	return ok && sk.DataType() == events.DataTypeString &&
		(strings.HasPrefix(sk.String(), outbox.SKPrefix) || strings.HasPrefix(sk.String(), invoices.SK(""))) &&
		pending && g.DataType() == events.DataTypeString && strings.HasPrefix(g.String(), outbox.PendingPrefix)
}

// step reads the stream once, sweeps (events pending over 2 minutes: none
// unless the stream path failed) and feeds the sender until the queue has
// nothing visible; it returns how many stream records and swept events were
// handled and how many messages.
func (n *notifications) step(ctx context.Context) (int, int, error) {
	recs, err := n.stream.Once(ctx)
	if err != nil {
		return 0, 0, err
	}
	res, err := n.relay.Sweep(ctx)
	if err != nil {
		return 0, 0, err
	}
	res.Pending += recs
	handled := 0
	for {
		got, err := n.poller.Once(ctx)
		if err != nil || got == 0 {
			return res.Pending, handled, err
		}
		handled += got
	}
}

// run drives the pipeline every second until ctx ends (make run), printing
// each delivery as it arrives.
func (n *notifications) run(ctx context.Context, log io.Writer) {
	n.receiver.PrintTo(log)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if _, _, err := n.step(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintln(log, "notifications:", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// settle drives the pipeline until two quiet rounds (nothing pending, nothing
// queued) or the deadline, then returns what the receiver got (make demo).
func (n *notifications) settle(ctx context.Context, max time.Duration) ([]webhookrecv.Received, error) {
	deadline := time.Now().Add(max)
	quiet := 0
	for quiet < 2 && time.Now().Before(deadline) {
		p, h, err := n.step(ctx)
		if err != nil {
			return nil, err
		}
		if p == 0 && h == 0 {
			quiet++
			time.Sleep(200 * time.Millisecond)
		} else {
			quiet = 0
		}
	}
	return n.receiver.Received(), nil
}

// summary describes the receiver and what it got.
func (n *notifications) summary(got []webhookrecv.Received) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Partner webhooks: endpoint %s -> the local receiver %s (every event type;\n", n.Endpoint, n.URL)
	fmt.Fprintf(&b, "each signature verified with the Standard Webhooks reference library):\n")
	if len(got) == 0 {
		fmt.Fprintf(&b, "  no events received\n")
	}
	for _, r := range got {
		fmt.Fprintln(&b, r.Line())
	}
	fmt.Fprintf(&b, "\n  curl -s -H \"Authorization: Bearer $PAYRECON_API_KEY\" '%s/v1/events?limit=5'\n", n.base)
	if len(got) > 0 {
		fmt.Fprintf(&b, "  curl -s -H \"Authorization: Bearer $PAYRECON_API_KEY\" %s/v1/events/%s/deliveries\n", n.base, got[len(got)-1].ID)
	}
	return b.String()
}
