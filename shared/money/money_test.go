package money

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseMinor(t *testing.T) {
	tests := []struct {
		name, in, cur string
		want          int64
		err           error
	}{
		{"dollars and cents", "3890.00", "usd", 389000, nil},
		{"negative plaid deposit", "-3890.00", "USD", -389000, nil},
		{"one decimal", "0.3", "USD", 30, nil},
		{"trailing zeros fine", "1.230", "USD", 123, nil},
		{"too precise", "1.234", "USD", 0, ErrPrecision},
		{"yen has no minor units", "1500", "JPY", 1500, nil},
		{"yen fraction refused", "1500.5", "JPY", 0, ErrPrecision},
		{"three decimals", "1.234", "KWD", 1234, nil},
		{"exponent form", "1e2", "USD", 10000, nil},
		{"garbage", "12abc", "USD", 0, ErrSyntax},
		{"empty", "", "USD", 0, ErrSyntax},
		{"bad currency", "1", "US", 0, ErrCurrency},
		{"overflow", "99999999999999999999", "USD", 0, ErrRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMinor(tc.in, tc.cur)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    int64
		cur  string
		want string
	}{
		{"usd", 389000, "USD", "3890.00"},
		{"negative cents", -5, "USD", "-0.05"},
		{"jpy", 1500, "JPY", "1500"},
		{"kwd", 1234, "KWD", "1.234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(tc.v, tc.cur); got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestAllocate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		total   int64
		weights []int64
		want    []int64
	}{
		{"even thirds", 100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{"65/35", 150000, []int64{65, 35}, []int64{97500, 52500}},
		{"negative", -100, []int64{1, 1, 1}, []int64{-34, -33, -33}},
		{"zero weight", 10, []int64{0, 1}, []int64{0, 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Allocate(tc.total, tc.weights)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for i := range got {
				sum += got[i]
				if got[i] != tc.want[i] {
					t.Fatalf("got %v want %v", got, tc.want)
				}
			}
			if sum != tc.total {
				t.Fatalf("sum %d != %d", sum, tc.total)
			}
		})
	}
}

func TestMulFraction(t *testing.T) {
	got, rounded := MulFraction(10000, decimal.RequireFromString("0.3"))
	if got != 3000 || rounded {
		t.Fatalf("got %d rounded=%v", got, rounded)
	}
}

func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"3890.00", "-0.1", "1e-2", "0.30000000000000004", "1E400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseMinor(s, "USD")
		if err != nil {
			return
		}
		// Round trip: formatting then parsing yields the same minor units.
		back, err := ParseMinor(Format(v, "USD"), "USD")
		if err != nil || back != v {
			t.Fatalf("round trip %q -> %d -> %q -> %d (%v)", s, v, Format(v, "USD"), back, err)
		}
	})
}
