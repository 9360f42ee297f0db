package streamesm

import (
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestRetryFrom(t *testing.T) {
	recs := []events.DynamoDBEventRecord{
		{Change: events.DynamoDBStreamRecord{SequenceNumber: "100"}},
		{Change: events.DynamoDBStreamRecord{SequenceNumber: "200"}},
		{Change: events.DynamoDBStreamRecord{SequenceNumber: "300"}},
	}
	fail := func(ids ...string) events.DynamoDBEventResponse {
		var res events.DynamoDBEventResponse
		for _, id := range ids {
			res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
		}
		return res
	}
	for _, tc := range []struct {
		name string
		res  events.DynamoDBEventResponse
		err  error
		want string
	}{
		{"success", fail(), nil, ""},
		{"one failure", fail("200"), nil, "200"},
		{"lowest of several, whatever their order", fail("300", "200"), nil, "200"},
		{"function error: whole batch", fail(), errors.New("boom"), "100"},
		{"empty identifier: whole batch", fail("300", ""), nil, "100"},
		{"identifier of no record: whole batch", fail("999"), nil, "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryFrom(recs, tc.res, tc.err); got != tc.want {
				t.Fatalf("retryFrom = %q, want %q", got, tc.want)
			}
		})
	}
}
