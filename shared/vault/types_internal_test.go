package vault

import (
	"testing"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/qualpay"
)

func sp(s string) *string { return &s }
func bp(b bool) *bool     { return &b }

func TestMergeShippingPrimary(t *testing.T) {
	cur := qualpay.Customer{ShippingAddresses: []qualpay.ShippingAddress{
		{ShippingID: 1, ShippingFields: qualpay.ShippingFields{FirstName: "A", LastName: "X", City: "a"}},
		{ShippingID: 2, ShippingFields: qualpay.ShippingFields{FirstName: "B", LastName: "X", City: "b"}, Primary: true},
	}}
	tests := []struct {
		name        string
		patch       []AddressPatch
		wantPrimary string // first name of the primary address
		wantCities  string
		wantCode    string
	}{
		{"edit keeps the current primary", []AddressPatch{{ShippingID: 1, AddressInput: AddressInput{City: sp("a2")}}}, "B", "a2,b", ""},
		{"an earlier address made primary wins", []AddressPatch{{ShippingID: 1, AddressInput: AddressInput{Primary: bp(true)}}}, "A", "a,b", ""},
		{"a new primary address", []AddressPatch{{AddressInput: AddressInput{FirstName: sp("C"), LastName: sp("X"), City: sp("c"), Primary: bp(true)}}}, "C", "a,b,c", ""},
		{"a new plain address", []AddressPatch{{AddressInput: AddressInput{FirstName: sp("C"), LastName: sp("X")}}}, "B", "a,b,", ""},
		{"unknown shipping_id", []AddressPatch{{ShippingID: 9, AddressInput: AddressInput{City: sp("z")}}}, "", "", apperr.Unprocessable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up, err := CustomerPatch{ShippingAddresses: tc.patch}.merge(cur)
			if tc.wantCode != "" {
				if !apperr.Is(err, tc.wantCode) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || up.ShippingAddresses == nil || up.BillingCards != nil {
				t.Fatalf("update %+v, %v", up, err)
			}
			primaries, cities := 0, ""
			for i, a := range *up.ShippingAddresses {
				if a.Primary {
					primaries++
					if a.FirstName != tc.wantPrimary {
						t.Errorf("primary %s, want %s", a.FirstName, tc.wantPrimary)
					}
				}
				if i > 0 {
					cities += ","
				}
				cities += a.City
			}
			if primaries != 1 || cities != tc.wantCities {
				t.Fatalf("primaries %d cities %q, want 1 %q", primaries, cities, tc.wantCities)
			}
		})
	}
}

func TestScalarPatchSendsNoArrays(t *testing.T) {
	up, err := CustomerPatch{Email: sp("a@b.co")}.merge(qualpay.Customer{ShippingAddresses: []qualpay.ShippingAddress{{ShippingID: 1}}})
	if err != nil || up.ShippingAddresses != nil || up.BillingCards != nil || *up.Email != "a@b.co" {
		t.Fatalf("%+v %v", up, err)
	}
}

// TestRequestArrayBounds: arrays past their documented maximum are 422.
func TestRequestArrayBounds(t *testing.T) {
	emails := make([]string, MaxBillingEmails+1)
	for i := range emails {
		emails[i] = "a@b.co"
	}
	tests := []struct {
		name string
		err  error
	}{
		{"shipping addresses", CustomerPatch{ShippingAddresses: make([]AddressPatch, MaxShippingAddresses+1)}.validate()},
		{"billing emails", CardInput{Billing: &BillingInput{Email: &emails}}.validate(false)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !apperr.Is(tc.err, apperr.Unprocessable) {
				t.Fatalf("err = %v", tc.err)
			}
		})
	}
}
