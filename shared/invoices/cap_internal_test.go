package invoices

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/store"
)

// TestPaymentsOverTheCap: the invoice item records at most maxLinks payments.
// One more is not counted (the invoice does not move) and raises
// too_many_payments; a payment already recorded still updates at the cap.
func TestPaymentsOverTheCap(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := &Store{DB: &store.Store{Table: "t"}, IDs: ids.New(), Now: func() time.Time { return now }}
	full := Invoice{PartnerID: "p1", CompanyID: "c1", ID: "inv_1", Amount: 1_000_000, Currency: "USD", Status: StatusPartiallyPaid,
		Pays: map[string]PaymentLink{}}
	for i := 0; i < maxLinks; i++ {
		id := fmt.Sprintf("pi_%03d", i)
		full.Pays[id] = PaymentLink{PaymentID: id, State: PaymentSucceeded, Amount: 100, Currency: "USD", Counted: 100}
		full.AmountPaid += 100
	}
	tests := []struct {
		name      string
		r         Received
		wantWrite bool
		wantRaise string
	}{
		{"one payment more is not counted", Received{PaymentID: "pi_new", State: PaymentSucceeded, Amount: 500, Currency: "usd"}, false, exceptions.TooManyPayments},
		{"a recorded payment still updates", Received{PaymentID: "pi_007", State: PaymentSucceeded, Amount: 100, Currency: "usd", Refunded: 100}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, st, err := s.ApplyPayment(context.Background(), full, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			wrote := false
			for _, w := range tx {
				if w.Update != nil {
					sk, _ := w.Update.Key["sk"].(*types.AttributeValueMemberS)
					wrote = wrote || sk != nil && sk.Value == SK(full.ID)
				}
			}
			if wrote != tc.wantWrite {
				t.Fatalf("invoice written = %v, want %v", wrote, tc.wantWrite)
			}
			var reasons []string
			for _, x := range st.Exceptions {
				reasons = append(reasons, x.Reason)
			}
			if tc.wantRaise == "" && len(reasons) > 0 || tc.wantRaise != "" && (len(reasons) != 1 || reasons[0] != tc.wantRaise) {
				t.Fatalf("exceptions %v, want %q", reasons, tc.wantRaise)
			}
			if tc.wantRaise != "" && st.Invoice.AmountPaid != full.AmountPaid {
				t.Fatalf("amount_paid moved to %d", st.Invoice.AmountPaid)
			}
		})
	}
}
