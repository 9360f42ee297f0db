package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/webhookrecv"
	"github.com/payrecon/payrecon/shared/outbox"
)

// TestLocalRunnerDeliversEvents: what `make run` and `make demo` set up (the
// loopback receiver registered through the API, the relay sweep and the FIFO
// sender on moto) delivers an event written by a change's transaction, and the
// receiver verifies its signature with the reference library. The worked
// example's own events come from the emitters (issue 20's emission side).
func TestLocalRunnerDeliversEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the local stack")
	}
	stack, err := localstack.Start(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := buildLocal(ctx, stack, "http://127.0.0.1:3000", uniqueTable(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLocal()
	srv := httptest.NewServer(l.Handler)
	defer srv.Close()
	n, err := startNotifications(ctx, l, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := outbox.New(l.Env.IDs.ID("evt"), outbox.InvoicePaid, l.Demo.PartnerID, l.Demo.CompanyID, "inv_local_1",
		map[string]any{"id": "inv_local_1", "status": "paid", "amount_paid": 100000}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tx, err := ev.TxItem(l.Env.Cfg.Table)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Env.Store.Transact(ctx, []types.TransactWriteItem{tx}); err != nil {
		t.Fatal(err)
	}
	got, err := n.settle(ctx, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The demo seed's own changes (its connections) are announced too.
	var mine []webhookrecv.Received
	for _, r := range got {
		if !r.Verified {
			t.Fatalf("%s did not verify", r.ID)
		}
		if r.ID == ev.ID {
			mine = append(mine, r)
		}
	}
	if len(mine) != 1 || mine[0].Type != outbox.InvoicePaid || mine[0].ObjectID != "inv_local_1" {
		t.Fatalf("received %d of %s: %+v", len(mine), ev.ID, mine)
	}
	var body map[string]any
	if err := json.Unmarshal(mine[0].Body, &body); err != nil || body["company_id"] != l.Demo.CompanyID {
		t.Fatalf("body %s", mine[0].Body)
	}

	// An invoice paid: its update carries the event's marker, and the relay
	// writes the event from the stream record's NEW_IMAGE (DynamoDB Local's
	// stream, through the template's filter) before fanning it out.
	invs := stores.Invoices(l.Env)
	inv, _, err := invs.Create(ctx, l.Demo.PartnerID, l.Demo.CompanyID, invoices.Input{ExternalID: "local-marker", Amount: 2500, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	txs, _, err := invs.ApplyPayment(ctx, inv, invoices.Received{PaymentID: "pi_local_marker", State: invoices.PaymentSucceeded, Amount: 2500, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Env.Store.Transact(ctx, txs); err != nil {
		t.Fatal(err)
	}
	paid, err := invs.Get(ctx, l.Demo.PartnerID, l.Demo.CompanyID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err = n.settle(ctx, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mine = mine[:0]
	for _, r := range got {
		if r.ObjectID == inv.ID {
			mine = append(mine, r)
		}
	}
	if len(mine) != 1 || mine[0].Type != outbox.InvoicePaid || mine[0].ID != paid.GSI1SK {
		t.Fatalf("received %+v for invoice %s (marker %s)", mine, inv.ID, paid.GSI1SK)
	}
	var ann struct {
		Data struct{ Object json.RawMessage }
	}
	want, _ := json.Marshal(paid)
	if err := json.Unmarshal(mine[0].Body, &ann); err != nil || !jsonEqual(ann.Data.Object, want) {
		t.Fatalf("event object %s, want the invoice as the API returns it %s", ann.Data.Object, want)
	}
	if now, _ := invs.Get(ctx, l.Demo.PartnerID, l.Demo.CompanyID, inv.ID); now.EventType != "" {
		t.Fatalf("marker not cleared: %+v", now)
	}
	t.Log(n.summary(got))
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
