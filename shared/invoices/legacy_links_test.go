package invoices_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/store"
)

// TestLegacyPaymentLinkItems: an invoice paid before links lived in the
// invoice item has no pays map, and its payments' contributions are in items
// of their own (INVPAY#<invoice>#<payment>, as the code before the map wrote
// them). Later events of those payments (a replay, a refund) and matches of
// their payouts take them into account: nothing is counted twice or lost.
func TestLegacyPaymentLinkItems(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pid, cid := env.Company()
	s := &invoices.Store{DB: env.Store, IDs: ids.New(), Now: time.Now}
	paid := invoices.Received{PaymentID: "pi_old", ChargeID: "ch_old", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd"}
	// legacy writes an invoice paid by pi_old the way the code before the
	// pays map left it: totals on the item, the link in an item of its own.
	legacy := func(t *testing.T, ext string) invoices.Invoice {
		inv, _, err := s.Create(ctx, pid, cid, invoices.Input{ExternalID: ext, Amount: 100000, Currency: "usd"})
		if err != nil {
			t.Fatal(err)
		}
		pk := store.CompanyPK(pid, cid)
		if _, err := env.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(env.Store.Table),
			Key:                      store.Key(pk, invoices.SK(inv.ID)),
			UpdateExpression:         aws.String("REMOVE pays SET #st = :paid, amount_paid = :amt, amount_processing = :zero, payment_id = :pid, paid_at = :at"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: mustValues(t, map[string]any{":paid": invoices.StatusPaid, ":amt": 100000, ":zero": 0,
				":pid": "pi_old", ":at": time.Now().UTC()}),
		}); err != nil {
			t.Fatal(err)
		}
		link := map[string]any{"pk": pk, "sk": "INVPAY#" + inv.ID + "#pi_old", "partner_id": pid, "invoice_id": inv.ID,
			"payment_id": "pi_old", "charge_id": "ch_old", "state": invoices.PaymentSucceeded, "amount": 100000, "currency": "USD",
			"refunded": 0, "lost": 0, "counted": 100000, "pending": 0, "reconciled": false, "version": 1}
		if _, err := env.Store.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(env.Store.Table), Item: mustValues(t, link)}); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	refunded := paid
	refunded.Refunded = 100000
	second := invoices.Received{PaymentID: "pi_new", State: invoices.PaymentSucceeded, Amount: 100, Currency: "usd"}
	tests := []struct {
		name       string
		r          *invoices.Received // applied with the read path
		match      bool               // then pi_old's payout is matched
		wantStatus string
		wantPaid   int64
		wantLinks  int
	}{
		{"the payment's event again", &paid, false, invoices.StatusPaid, 100000, 0},
		{"the payment refunded in full", &refunded, false, invoices.StatusOpen, 0, 1},
		{"another payment", &second, false, invoices.StatusPaid, 100100, 2},
		{"the payment's payout matched", nil, true, invoices.StatusReconciled, 100000, 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := legacy(t, "legacy-"+itoa(i))
			if tc.r != nil {
				apply(t, s, inv, *tc.r)
			}
			if tc.match {
				if err := s.PaymentsMatched(ctx, pid, cid, []invoices.PaymentRef{{InvoiceID: inv.ID, PaymentID: "ch_old"}}, true); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Get(ctx, pid, cid, inv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.wantStatus || got.AmountPaid != tc.wantPaid || len(got.Pays) != tc.wantLinks {
				t.Fatalf("invoice %s paid %d with %d links, want %s %d %d", got.Status, got.AmountPaid, len(got.Pays), tc.wantStatus, tc.wantPaid, tc.wantLinks)
			}
		})
	}
}

func mustValues(t *testing.T, m map[string]any) map[string]types.AttributeValue {
	t.Helper()
	av, err := attributevalue.MarshalMap(m)
	if err != nil {
		t.Fatal(err)
	}
	return av
}

func itoa(n int) string { return strconv.Itoa(n) }
