package qualpay_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/qualpay"
)

func BenchmarkFindPAN4KiB(b *testing.B) {
	doc := []byte(`{"customer_first_name":"John","comments":"` + strings.Repeat("order 12345 shipped 2024-01-02; ", 120) + `"}`)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if len(qualpay.FindPAN(doc)) != 0 {
			b.Fatal("false positive")
		}
	}
}

// BenchmarkGetCustomerViaFake: one vault read through the client and the
// fake, both sides validated against the OpenAPI document.
func BenchmarkGetCustomerViaFake(b *testing.B) {
	_, cl, _ := setup(b)
	ctx := context.Background()
	if _, err := cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: "BENCH1", FirstName: "B", LastName: "C"}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := cl.GetCustomer(ctx, mid, "BENCH1"); err != nil {
			b.Fatal(err)
		}
	}
}
