package notify_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/outboxtest"
	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// TestInvoiceMarkers: an invoice announces its status moves with a marker on
// its own item; the relay writes each event from the stream record's
// NEW_IMAGE (the invoice as that change left it), once however often the
// record comes, fans it out, and clears the marker only while it names that
// event. A marker whose record never reached the relay is found by the sweep.
func TestInvoiceMarkers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rec, srv := newReceiver(t)
	ep := w.endpoint(srv.URL, outbox.InvoicePaid, outbox.InvoicePartiallyPaid)
	rec.verifyWith(t, ep.Secret)
	co, _, err := w.env.Companies.Create(ctx, w.pid, "c1", "Bakery")
	if err != nil {
		t.Fatal(err)
	}
	invs := stores.Invoices(w.env.Env)
	inv, _, err := invs.Create(ctx, w.pid, co.ID, invoices.Input{ExternalID: "m-1", Amount: 100000, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	pay := func(inv invoices.Invoice, pi string, amount int64) (events.DynamoDBEventRecord, invoices.Invoice) {
		t.Helper()
		cur, err := invs.Get(ctx, w.pid, co.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		txs, _, err := invs.ApplyPayment(ctx, cur, invoices.Received{PaymentID: pi, State: invoices.PaymentSucceeded, Amount: amount, Currency: "usd"})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.env.Store.Transact(ctx, txs); err != nil {
			t.Fatal(err)
		}
		after, err := invs.Get(ctx, w.pid, co.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		return streamModify(t, w.env.Store, inv), after
	}
	// Two instalments before the relay runs: two markers, one after the other.
	r1, partial := pay(inv, "pi_m1", 40000)
	r2, paid := pay(inv, "pi_m2", 60000)
	if partial.EventType != outbox.InvoicePartiallyPaid || paid.EventType != outbox.InvoicePaid || partial.GSI1SK == paid.GSI1SK {
		t.Fatalf("markers %q %q, %q %q", partial.EventType, partial.GSI1SK, paid.EventType, paid.GSI1SK)
	}
	// The first record's relay fails to queue; the stream retries the batch.
	crashed := &notify.Relay{Store: w.env.Store, Queue: failingQueue{}, Now: w.env.Now, Log: w.env.Log}
	if res, err := crashed.HandleStream(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{r1, r2}}); err != nil || len(res.BatchItemFailures) != 1 {
		t.Fatalf("stream with the queue down: %+v %v", res, err)
	}
	for i := 0; i < 2; i++ { // the retry, then a duplicate delivery of the batch
		if res, err := w.relay.HandleStream(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{r1, r2}}); err != nil || len(res.BatchItemFailures) != 0 {
			t.Fatalf("stream %+v %v", res, err)
		}
	}
	api := func(inv invoices.Invoice) []byte { b, _ := json.Marshal(inv); return b }
	e1 := outboxtest.One(t, w.env.Store, w.pid, co.ID, outbox.InvoicePartiallyPaid, inv.ID, api(partial))
	e2 := outboxtest.One(t, w.env.Store, w.pid, co.ID, outbox.InvoicePaid, inv.ID, api(paid))
	if e1.ID != partial.GSI1SK || e2.ID != paid.GSI1SK || e1.ID >= e2.ID {
		t.Fatalf("event IDs %s %s, markers %s %s", e1.ID, e2.ID, partial.GSI1SK, paid.GSI1SK)
	}
	if now, _ := invs.Get(ctx, w.pid, co.ID, inv.ID); now.EventType != "" || now.GSI1PK != "" || now.EventAt != nil {
		t.Fatalf("marker left after its event went out: %+v", now)
	}
	w.drain(func() bool { return len(rec.succeeded()) >= 2 })
	if got := rec.succeeded(); len(got) != 2 || got[0] != e1.ID || got[1] != e2.ID {
		t.Fatalf("deliveries %v, want %s then %s", got, e1.ID, e2.ID)
	}

	// A marker whose record was lost: the sweep writes its event from the item.
	other, _, err := invs.Create(ctx, w.pid, co.ID, invoices.Input{ExternalID: "m-2", Amount: 5000, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	_, paid2 := pay(other, "pi_m3", 5000)
	sweep := &notify.Relay{Store: w.env.Store, Queue: w.queue, Now: func() time.Time { return w.env.Now().Add(3 * time.Minute) }, Log: w.env.Log}
	if r, err := sweep.Sweep(ctx); err != nil || r.Pending != 1 || r.Deliveries != 1 {
		t.Fatalf("sweep %+v %v", r, err)
	}
	if r, err := sweep.Sweep(ctx); err != nil || r.Pending != 0 {
		t.Fatalf("second sweep %+v %v", r, err)
	}
	e3 := outboxtest.One(t, w.env.Store, w.pid, co.ID, outbox.InvoicePaid, other.ID, api(paid2))
	w.drain(func() bool { return len(rec.succeeded()) >= 3 })
	if got := rec.succeeded(); len(got) != 3 || got[2] != e3.ID {
		t.Fatalf("deliveries %v", got)
	}
}

// streamModify is the stream record of the invoice item as it is now (NEW_IMAGE).
func streamModify(t *testing.T, st *store.Store, inv invoices.Invoice) events.DynamoDBEventRecord {
	t.Helper()
	out, err := st.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(st.Table),
		Key: store.Key(store.CompanyPK(inv.PartnerID, inv.CompanyID), invoices.SK(inv.ID)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	img := image(out.Item)
	return events.DynamoDBEventRecord{EventName: "MODIFY", EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{SequenceNumber: time.Now().Format("150405.000000000"), StreamViewType: "NEW_IMAGE",
			Keys: map[string]events.DynamoDBAttributeValue{"pk": img["pk"], "sk": img["sk"]}, NewImage: img}}
}

func image(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := map[string]events.DynamoDBAttributeValue{}
	for k, v := range m {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = events.NewStringAttribute(x.Value)
		case *types.AttributeValueMemberN:
			out[k] = events.NewNumberAttribute(x.Value)
		case *types.AttributeValueMemberBOOL:
			out[k] = events.NewBooleanAttribute(x.Value)
		case *types.AttributeValueMemberM:
			out[k] = events.NewMapAttribute(image(x.Value))
		default: // an invoice item has no other kinds
			out[k] = events.NewNullAttribute()
		}
	}
	return out
}
