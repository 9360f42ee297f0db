package qualpay_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/qualpay"
)

const (
	mid      = int64(212000000001)
	otherMID = int64(212000000002)
)

// sleeps records the waits the client asked for instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// setup starts a fake with two merchants and a client whose sleeps are recorded.
func setup(t testing.TB, opts ...func(*qualpay.Config)) (*qualpayfake.Server, *qualpay.Client, *sleeps) {
	t.Helper()
	fk := qualpayfake.Start(t)
	fk.AddMerchant(qualpayfake.Merchant{ID: mid, DBAName: "Demo Bakery"})
	fk.AddMerchant(qualpayfake.Merchant{ID: otherMID, DBAName: "Other Shop"})
	sl := &sleeps{}
	cfg := qualpay.Config{BaseURL: fk.URL, SecurityKey: fk.Key(), HTTPClient: &http.Client{Timeout: 5 * time.Second},
		Sleep: sl.sleep, Rand: func() float64 { return 0.5 }}
	for _, o := range opts {
		o(&cfg)
	}
	cl, err := qualpay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fk, cl, sl
}

func token(t *testing.T, fk *qualpayfake.Server, pan, exp string) string {
	t.Helper()
	id, err := fk.Tokenize(pan, exp)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func card(id string) qualpay.CardInput {
	return qualpay.CardInput{CardID: id, BillingDetails: qualpay.BillingDetails{
		BillingFirstName: "John", BillingLastName: "Doe", BillingAddr1: "1 Main St", BillingZip: "94402"}}
}

func ship(first, city string) qualpay.ShippingAddressInput {
	return qualpay.ShippingAddressInput{ShippingFields: qualpay.ShippingFields{
		FirstName: first, LastName: "Doe", Addr1: "1 Main St", City: city, State: "CA", Zip: "94402"}}
}

func wantCode(t *testing.T, err error, code string) *apperr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	ae, ok := apperr.As(err)
	if !ok || ae.Code != code {
		t.Fatalf("err = %v (code %s), want %s", err, apperr.CodeOf(err), code)
	}
	return ae
}

func ptr[T any](v T) *T { return &v }

func primaryCard(c qualpay.Customer) string {
	for _, b := range c.BillingCards {
		if b.Primary {
			return b.CardID
		}
	}
	return ""
}

func primaryShip(c qualpay.Customer) int64 {
	for _, s := range c.ShippingAddresses {
		if s.Primary {
			return s.ShippingID
		}
	}
	return 0
}
