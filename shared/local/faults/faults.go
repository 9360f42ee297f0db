// Package faults injects AWS service failures at the SDK's HTTP layer
// (throttling, internal errors, timeouts, conditional-check failures), so tests
// exercise the real client, its retryer and our error handling end to end.
package faults

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Kind is a failure to inject.
type Kind int

// Kinds of faults.
const (
	Throttle        Kind = iota + 1 // 400 ThrottlingException / ProvisionedThroughputExceeded (retried by the SDK)
	Internal                        // 500 internal error (retried by the SDK)
	Timeout                         // a network timeout before any response
	ConditionFailed                 // 400 ConditionalCheckFailedException (DynamoDB only)
)

func (k Kind) String() string {
	return [...]string{"", "throttle", "internal", "timeout", "condition_failed"}[k]
}

// Rule injects Kind into calls whose X-Amz-Target ends with "."+Operation
// (e.g. "PutItem", "TransactWriteItems", "GetSecretValue"; "" = every call),
// skipping the first Skip matches, then failing Times matches (-1 = forever).
type Rule struct {
	Operation string
	Kind      Kind
	Skip      int
	Times     int
	seen      int
	fired     int
}

// Transport is an http.RoundTripper with rules.
type Transport struct {
	Next  http.RoundTripper
	mu    sync.Mutex
	rules []*Rule
	log   []string
}

// New wraps next (http.DefaultTransport when nil).
func New(next http.RoundTripper) *Transport {
	if next == nil {
		next = http.DefaultTransport
	}
	return &Transport{Next: next}
}

// Add installs a rule; Clear removes all.
func (t *Transport) Add(r Rule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = append(t.rules, &r)
}

// Clear removes every rule.
func (t *Transport) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = nil
}

// Injected lists "operation:kind" for each injected fault, in order.
func (t *Transport) Injected() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.log...)
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "faults: injected i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// RoundTrip applies the first matching rule with budget left.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	target := req.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	t.mu.Lock()
	var hit *Rule
	for _, r := range t.rules {
		if r.Operation != "" && r.Operation != op {
			continue
		}
		r.seen++
		if r.seen <= r.Skip || (r.Times >= 0 && r.fired >= r.Times) {
			continue
		}
		r.fired++
		hit = r
		t.log = append(t.log, op+":"+r.Kind.String())
		break
	}
	t.mu.Unlock()
	if hit == nil {
		return t.Next.RoundTrip(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	dynamo := strings.HasPrefix(target, "DynamoDB")
	switch hit.Kind {
	case Timeout:
		return nil, timeoutErr{}
	case Throttle:
		if dynamo {
			return awsError(req, 400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "injected throttle"), nil
		}
		return awsError(req, 400, "ThrottlingException", "injected throttle"), nil
	case ConditionFailed:
		return awsError(req, 400, "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "injected condition failure"), nil
	default:
		if dynamo {
			return awsError(req, 500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "injected internal error"), nil
		}
		return awsError(req, 500, "InternalServiceError", "injected internal error"), nil
	}
}

func awsError(req *http.Request, status int, typ, msg string) *http.Response {
	body := fmt.Sprintf(`{"__type":%q,"message":%q}`, typ, msg)
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"injected"}},
		Body:          io.NopCloser(bytes.NewBufferString(body)),
		ContentLength: int64(len(body)), Request: req,
	}
}
