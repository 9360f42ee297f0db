package money

import (
	"errors"
	"strings"
	"testing"
)

// stripePresentment is Stripe's list of supported presentment currencies
// (https://docs.stripe.com/currencies#presentment-currencies), with the
// exponent Stripe's API uses for each ("unless otherwise noted, currencies are
// two-decimal"; the zero-decimal, three-decimal and special-case sections).
var stripePresentment = map[int32]string{
	0: "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF",
	2: "USD AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BWP BYN BZD " +
		"CAD CDF CHF CNY COP CRC CVE CZK DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GTQ GYD " +
		"HKD HNL HTG HUF IDR ILS INR ISK JMD KES KGS KHR KYD KZT LAK LBP LKR LRD LSL MAD MDL MKD MMK MNT " +
		"MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB " +
		"SAR SBD SCR SEK SGD SHP SLE SOS SRD STD SZL THB TJS TOP TRY TTD TWD TZS UAH UGX UYU UZS WST XCD YER ZAR ZMW",
	3: "BHD JOD KWD OMR TND",
}

func TestStripeEveryListedCurrency(t *testing.T) {
	for want, codes := range stripePresentment {
		for _, c := range strings.Fields(codes) {
			t.Run(c, func(t *testing.T) {
				got, err := Stripe.Exponent(strings.ToLower(c))
				if err != nil || got != want {
					t.Fatalf("Stripe.Exponent(%s) = %d, %v; want %d", c, got, err, want)
				}
				step, _ := StripeAmountStep(c, StripeCharge)
				wantStep := int64(1)
				switch c {
				case "ISK", "UGX":
					wantStep = 100
				case "BHD", "JOD", "KWD", "OMR", "TND":
					wantStep = 10
				}
				if step != wantStep {
					t.Fatalf("charge step %d, want %d", step, wantStep)
				}
				// Where ISO knows the code, one whole unit converts exactly both ways.
				isoExp, err := ISO.Exponent(c)
				if errors.Is(err, ErrUnknownCurrency) {
					return // e.g. STD, which ISO replaced by STN; Stripe still lists it
				}
				one := int64(1)
				for range want {
					one *= 10
				}
				iso, err := Rescale(one, c, Stripe, ISO)
				if err != nil {
					t.Fatalf("rescale to ISO: %v", err)
				}
				wantISO := int64(1)
				for range isoExp {
					wantISO *= 10
				}
				if iso != wantISO {
					t.Fatalf("one unit = %d ISO minor units, want %d", iso, wantISO)
				}
				if back, err := Rescale(iso, c, ISO, Stripe); err != nil || back != one {
					t.Fatalf("back to Stripe: %d, %v", back, err)
				}
			})
		}
	}
}

func TestUnitsDisagree(t *testing.T) {
	tests := []struct {
		name      string
		cur       string
		iso, strp int32
	}{
		{"ISK zero-decimal in ISO, two at Stripe", "ISK", 0, 2},
		{"UGX zero-decimal in ISO, sent as two at Stripe", "UGX", 0, 2},
		{"MGA two in ISO, zero-decimal at Stripe", "MGA", 2, 0},
		{"HUF two in both", "HUF", 2, 2},
		{"KWD three in both", "KWD", 3, 3},
		{"JPY zero in both", "JPY", 0, 0},
		{"IQD three in ISO, Stripe's default two", "IQD", 3, 2},
		{"CLF four in ISO", "CLF", 4, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := ISO.Exponent(tc.cur); err != nil || e != tc.iso {
				t.Fatalf("ISO %d, %v; want %d", e, err, tc.iso)
			}
			if e, err := Stripe.Exponent(tc.cur); err != nil || e != tc.strp {
				t.Fatalf("Stripe %d, %v; want %d", e, err, tc.strp)
			}
		})
	}
}

func TestStripeAmountRules(t *testing.T) {
	tests := []struct {
		name  string
		amt   int64
		cur   string
		use   StripeUse
		valid bool
	}{
		{"ISK whole krona", 4000, "ISK", StripeCharge, true},
		{"ISK fractional krona refused", 4010, "ISK", StripeCharge, false},
		{"UGX fractional refused", 150, "UGX", StripeCharge, false},
		{"HUF charge may have fillér", 1045, "HUF", StripeCharge, true},
		{"HUF manual payout must be whole", 1045, "HUF", StripePayout, false},
		{"HUF payout whole", 1000, "HUF", StripePayout, true},
		{"TWD payout whole", 1000, "TWD", StripePayout, true},
		{"TWD payout fractional", 1001, "TWD", StripePayout, false},
		{"KWD last digit zero", 5120, "KWD", StripeCharge, true},
		{"KWD last digit not zero", 5124, "KWD", StripeCharge, false},
		{"USD anything", 1, "USD", StripePayout, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStripeAmount(tc.amt, tc.cur, tc.use)
			if (err == nil) != tc.valid {
				t.Fatalf("err = %v, valid want %v", err, tc.valid)
			}
		})
	}
}

func TestRescale(t *testing.T) {
	tests := []struct {
		name     string
		amt      int64
		cur      string
		from, to Units
		want     int64
		err      error
	}{
		{"stripe ISK to bank", 389000, "ISK", Stripe, ISO, 3890, nil},
		{"bank ISK to stripe", -3890, "ISK", ISO, Stripe, -389000, nil},
		{"stripe ISK fraction cannot reach the bank", 4010, "ISK", Stripe, ISO, 0, ErrPrecision},
		{"MGA bank to stripe", 150000, "MGA", ISO, Stripe, 1500, nil},
		{"MGA fraction", 150001, "MGA", ISO, Stripe, 0, ErrPrecision},
		{"USD unchanged", 12345, "USD", Stripe, ISO, 12345, nil},
		{"overflow", 1 << 62, "ISK", ISO, Stripe, 0, ErrRange},
		{"unknown ISO code", 1, "ZZZ", Stripe, ISO, 0, ErrUnknownCurrency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Rescale(tc.amt, tc.cur, tc.from, tc.to)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Fatalf("got %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestStripeFormat(t *testing.T) {
	if got := Stripe.Format(389000, "ISK"); got != "3890.00" {
		t.Fatalf("Stripe ISK %q", got)
	}
	if got := Format(3890, "ISK"); got != "3890" {
		t.Fatalf("ISO ISK %q", got)
	}
	if got, err := Stripe.ParseMinor("15", "MGA"); err != nil || got != 15 {
		t.Fatalf("Stripe MGA %d %v", got, err)
	}
}
