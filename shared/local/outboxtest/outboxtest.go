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

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
// the fan-out): the event of every marker still pending is written from the
// item, once. Tests have no table stream, so this reads the pending index as
// the relay's sweep does.
func writeMarked(t testing.TB, st *store.Store, partnerID string) {
	t.Helper()
	ctx := context.Background()
	for shard := 0; shard < outbox.PendingShards; shard++ {
		q := store.Query{Index: store.GSI1, PK: fmt.Sprintf("%s%d", outbox.PendingPrefix, shard), Limit: 500}
		err := st.QueryAll(ctx, q, 0, func(items []map[string]types.AttributeValue) error {
			for _, it := range items {
				ev, ok, err := invoices.PendingEvent(it)
				if err != nil {
					return err
				}
				if ok && ev.PartnerID == partnerID {
					if err := ev.PutOnce(ctx, st); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("write marked events: %v", err)
		}
	}
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
