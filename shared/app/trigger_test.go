package app

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestTrigger(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"SQS batch", `{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`, "aws:sqs"},
		{"DynamoDB stream batch", `{"Records":[{"eventSource":"aws:dynamodb","eventName":"INSERT"}]}`, "aws:dynamodb"},
		{"HTTP API v2 request", `{"version":"2.0","routeKey":"POST /v1/x","rawPath":"/v1/x"}`, "http"},
		{"schedule input", `{"source":"payrecon.schedule"}`, ""},
		{"empty batch", `{"Records":[]}`, ""},
		{"not JSON", `{`, ""},
		{"records of the wrong shape", `{"Records":"x"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Trigger(json.RawMessage(tc.raw)); got != tc.want {
				t.Fatalf("Trigger(%s) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

// TestTriggersHandle: each event reaches its trigger's handler; without an SQS
// or Other handler those events go to HTTP, as a function with none expects.
func TestTriggersHandle(t *testing.T) {
	var got string
	httpH := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = "http"
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}
	sqsH := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		got = "sqs:" + ev.Records[0].Body
		return events.SQSEventResponse{}, nil
	}
	other := func(context.Context, json.RawMessage) (any, error) { got = "other"; return nil, nil }
	const batch, request, schedule = `{"Records":[{"eventSource":"aws:sqs","body":"b1"}]}`, `{"version":"2.0","routeKey":"GET /x","rawPath":"/x"}`, `{"source":"payrecon.schedule"}`
	all := Triggers{HTTP: httpH, SQS: sqsH, Other: other}
	httpOnly := Triggers{HTTP: httpH}
	for _, tc := range []struct {
		name string
		t    Triggers
		raw  string
		want string
	}{
		{"SQS batch", all, batch, "sqs:b1"},
		{"HTTP request", all, request, "http"},
		{"schedule", all, schedule, "other"},
		{"SQS batch, no SQS handler", httpOnly, batch, "http"},
		{"schedule, no Other handler", httpOnly, schedule, "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = ""
			if _, err := tc.t.Handle(context.Background(), json.RawMessage(tc.raw)); err != nil || got != tc.want {
				t.Fatalf("went to %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}
