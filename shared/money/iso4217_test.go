package money

import (
	"testing"

	"github.com/bojanz/currency"
)

// TestISOTableMatchesCurrencyModule: the generated table is exactly
// github.com/bojanz/currency's ISO 4217 digits, code for code (after upgrading
// that module, run go generate ./shared/money).
func TestISOTableMatchesCurrencyModule(t *testing.T) {
	codes := currency.GetCurrencyCodes()
	if len(codes) != len(iso4217) {
		t.Fatalf("table has %d codes, github.com/bojanz/currency %d: run go generate ./shared/money", len(iso4217), len(codes))
	}
	for _, c := range codes {
		want, _ := currency.GetDigits(c)
		if got, ok := isoExponent(c); !ok || got != int32(want) {
			t.Errorf("%s: table %d (listed %v), module %d", c, got, ok, want)
		}
	}
	for _, c := range []string{"", "US", "usd", "XXXX", "ZZZ"} {
		if _, ok := isoExponent(c); ok {
			t.Errorf("%q is listed", c)
		}
	}
}
