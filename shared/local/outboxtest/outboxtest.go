// Package outboxtest reads the outbox events a test's changes wrote (issue
// 20) and checks them against what the API returns. Emitter tests call One
// with an outbox type constant; shared/outbox's coverage test finds those
// calls, so an event type without an emitter test fails the build's tests.
package outboxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Events returns the partner's events, oldest first, of type typ ("" for
// all) about objectID ("" for any). Events that an item's marker announces
// (invoices) are written first, as the notifications relay writes them.
func Events(t testing.TB, st *store.Store, partnerID, typ, objectID string) []outbox.Event {
	t.Helper()
	writeMarked(t, st, partnerID)
	var out []outbox.Event
	q := store.Query{PK: store.PartnerPK(partnerID), SKPrefix: outbox.SKPrefix, Limit: 500}
	err := st.QueryAll(context.Background(), q, 0, func(items []map[string]types.AttributeValue) error {
		var page []outbox.Event
		if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
			return err
		}
		for _, e := range page {
			if (typ == "" || e.Type == typ) && (objectID == "" || e.ObjectID == objectID) {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	return out
}

// writeMarked stands in for the relay's first step (notify.Relay, without
// the fan-out): the event of every marker is written from the item, once. When
// the test's table has its stream on (testenv.Env.EnableStream), from every
// stream record's NEW_IMAGE, as the relay does; else from the items still
// pending on the index, as the relay's sweep does (which sees only an item's
// latest marker).
func writeMarked(t testing.TB, st *store.Store, partnerID string) {
	t.Helper()
	ctx := context.Background()
	images, err := streamImages(ctx, st)
	if err == nil && images == nil {
		images, err = pendingItems(ctx, st)
	}
	if err != nil {
		t.Fatalf("write marked events: %v", err)
	}
	for _, it := range images {
		ev, ok, err := invoices.PendingEvent(it)
		if err != nil {
			t.Fatalf("write marked events: %v", err)
		}
		if ok && ev.PartnerID == partnerID {
			if err := ev.PutOnce(ctx, st); err != nil {
				t.Fatalf("write marked events: %v", err)
			}
		}
	}
}

// streamImages reads the table's whole stream, oldest first per shard (nil
// when the table has no stream).
func streamImages(ctx context.Context, st *store.Store) ([]map[string]types.AttributeValue, error) {
	api := st.DB
	for { // under a test's counting wrappers
		u, ok := api.(interface{ Unwrap() store.API })
		if !ok {
			break
		}
		api = u.Unwrap()
	}
	db, ok := api.(*dynamodb.Client)
	if !ok {
		return nil, nil
	}
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(st.Table)})
	if err != nil {
		return nil, err
	}
	if aws.ToString(d.Table.LatestStreamArn) == "" {
		return nil, nil
	}
	o := db.Options()
	sapi := dynamodbstreams.New(dynamodbstreams.Options{Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint})
	arn := d.Table.LatestStreamArn
	desc, err := sapi.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil {
		return nil, err
	}
	images := []map[string]types.AttributeValue{}
	for _, sh := range desc.StreamDescription.Shards {
		it, err := sapi.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: sh.ShardId,
			ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return nil, err
		}
		for next := it.ShardIterator; next != nil; {
			out, err := sapi.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: next})
			if err != nil {
				return nil, err
			}
			for _, r := range out.Records {
				if r.Dynamodb == nil || r.Dynamodb.NewImage == nil {
					continue
				}
				img, err := attributevalue.FromDynamoDBStreamsMap(r.Dynamodb.NewImage)
				if err != nil {
					return nil, err
				}
				images = append(images, img)
			}
			if len(out.Records) == 0 { // the open shard's end: nothing newer yet
				break
			}
			next = out.NextShardIterator
		}
	}
	return images, nil
}

// pendingItems reads every item on the outbox's pending index.
func pendingItems(ctx context.Context, st *store.Store) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for shard := 0; shard < outbox.PendingShards; shard++ {
		q := store.Query{Index: store.GSI1, PK: fmt.Sprintf("%s%d", outbox.PendingPrefix, shard), Limit: 500}
		if err := st.QueryAll(ctx, q, 0, func(page []map[string]types.AttributeValue) error {
			items = append(items, page...)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// One asserts that exactly one event of typ about objectID exists, for
// companyID, and that its object is JSON-equal to api: the API's answer for
// that object (raw JSON bytes, or a value decoded from the API's response).
func One(t testing.TB, st *store.Store, partnerID, companyID, typ, objectID string, api any) outbox.Event {
	t.Helper()
	evs := Events(t, st, partnerID, typ, objectID)
	if len(evs) != 1 {
		t.Fatalf("%d %s events about %s, want 1: %+v", len(evs), typ, objectID, evs)
	}
	e := evs[0]
	if e.CompanyID != companyID || e.PartnerID != partnerID {
		t.Fatalf("%s event for partner %s company %s, want %s %s", typ, e.PartnerID, e.CompanyID, partnerID, companyID)
	}
	if api != nil {
		Equal(t, e, api)
	}
	record(t, e)
	return e
}

// DocEnv names a file that One appends each checked event's body to, one JSON
// line each (scripts/events-doc.sh renders docs/events.md from it).
const DocEnv = "PAYRECON_EVENTS_DOC"

func record(t testing.TB, e outbox.Event) {
	path := os.Getenv(DocEnv)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("events doc: %v", err)
	}
	defer f.Close()
	body, err := e.Body()
	if err != nil {
		t.Fatalf("events doc: %v", err)
	}
	if _, err := f.Write(append(body, '\n')); err != nil { // one write: appends stay whole lines
		t.Fatalf("events doc: %v", err)
	}
}

// Count asserts how many events of typ about objectID ("" for any) exist.
func Count(t testing.TB, st *store.Store, partnerID, typ, objectID string, want int) {
	t.Helper()
	if got := len(Events(t, st, partnerID, typ, objectID)); got != want {
		t.Fatalf("%d %s events about %q, want %d", got, typ, objectID, want)
	}
}

// Equal asserts that e's object is JSON-equal to api.
func Equal(t testing.TB, e outbox.Event, api any) {
	t.Helper()
	want, ok := api.([]byte)
	if !ok {
		var err error
		if want, err = json.Marshal(api); err != nil {
			t.Fatal(err)
		}
	}
	var got, exp any
	if err := decode([]byte(e.Data), &got); err != nil {
		t.Fatalf("%s event data: %v", e.Type, err)
	}
	if err := decode(want, &exp); err != nil {
		t.Fatalf("API object: %v", err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("%s event object differs from the API's:\nevent %s\napi   %s", e.Type, e.Data, want)
	}
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
