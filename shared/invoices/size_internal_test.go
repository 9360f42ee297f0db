package invoices

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/store"
)

// TestInvoiceItemSizeAtCap: an invoice item holding maxLinks payments, every
// ID and text field at its bound, stays far below DynamoDB's 400 KB item limit
// (docs/sizes.md), sized as DynamoDB counts it.
func TestInvoiceItemSizeAtCap(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	now := time.Now()
	inv := Invoice{PartnerID: long(40), CompanyID: long(40), ID: long(64), ExternalID: long(128), Number: long(64), Customer: long(200),
		Amount: 1 << 60, Currency: "USD", IssuedAt: "2026-11-01", DueAt: "2026-11-30", Status: StatusPartiallyPaid, PaymentID: long(255),
		AmountPaid: 1 << 60, AmountProcessing: 1 << 60, PaidAt: &now, ReconciledAt: &now, CreatedAt: now, UpdatedAt: now,
		Pays: map[string]PaymentLink{}, PaysVersion: 1 << 40, EventType: "invoice.partially_paid", EventAt: &now}
	inv.PK, inv.SK, inv.GSI1PK, inv.GSI1SK = store.CompanyPK(inv.PartnerID, inv.CompanyID), SK(inv.ID), "OUTBOX#PENDING#7", "evt_"+long(26)
	for i := 0; i < maxLinks; i++ {
		id := fmt.Sprintf("%03d", i) + long(maxRefLen-3) // Received.check bounds the IDs
		inv.Pays[id] = PaymentLink{PaymentID: id, ChargeID: long(maxRefLen), State: PaymentProcessing, Amount: 1 << 60, Currency: long(8),
			Refunded: 1 << 60, Lost: 1 << 60, Counted: 1 << 60, Pending: 1 << 60, Reconciled: true}
	}
	av, err := store.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	size := store.ItemSize(av)
	t.Logf("invoice item with %d payments at their bounds: %d B", maxLinks, size)
	if size > 100<<10 {
		t.Fatalf("%d B: over the 100 KB bound docs/sizes.md states", size)
	}
	for _, r := range []Received{{PaymentID: long(maxRefLen + 1)}, {PaymentID: "pi_1", ChargeID: long(maxRefLen + 1)}, {PaymentID: "pi_1", Currency: long(9)}, {},
		{PaymentID: "pi_1", Amount: maxReceived + 1}, {PaymentID: "pi_1", Refunded: maxReceived + 1}, {PaymentID: "pi_1", Lost: maxReceived + 1}} {
		if err := r.check(); err == nil {
			t.Fatalf("%d/%d/%d-character IDs, amounts %d/%d/%d accepted", len(r.PaymentID), len(r.ChargeID), len(r.Currency), r.Amount, r.Refunded, r.Lost)
		}
	}
}
