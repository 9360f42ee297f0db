package app

import (
	"encoding/json"
	"testing"
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
