package invoices

import (
	"testing"

	"github.com/payrecon/payrecon/shared/outbox"
)

func TestTransitionEvent(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"first instalment", StatusOpen, StatusPartiallyPaid, outbox.InvoicePartiallyPaid},
		{"another instalment", StatusPartiallyPaid, StatusPartiallyPaid, ""},
		{"paid in one go", StatusOpen, StatusPaid, outbox.InvoicePaid},
		{"last instalment", StatusPartiallyPaid, StatusPaid, outbox.InvoicePaid},
		{"ACH settles", StatusProcessing, StatusPaid, outbox.InvoicePaid},
		{"ACH in flight", StatusOpen, StatusProcessing, ""},
		{"more money to a paid invoice", StatusPaid, StatusPaid, ""},
		{"partial refund of a paid invoice", StatusPaid, StatusPartiallyPaid, outbox.InvoicePartiallyPaid},
		{"full refund", StatusPaid, StatusOpen, ""},
		{"reconciled stays reconciled", StatusReconciled, StatusPaid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := transitionEvent(tc.from, tc.to); got != tc.want {
				t.Fatalf("%s -> %s: %q, want %q", tc.from, tc.to, got, tc.want)
			}
		})
	}
}
