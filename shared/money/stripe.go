package money

import "fmt"

// Stripe's documented currency rules, https://docs.stripe.com/currencies
// ("Minor units in API amounts", "Zero-decimal currencies", "Three-decimal
// currencies", "Special cases"), plus
// https://support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds
// ("ISK will remain a two-decimal currency in the Stripe API, and an ISK amount
// of 100 will continue to represent 1 króna"; charges must be divisible by 100).
// Stripe's rule is its own table, not ISO's: "unless otherwise noted,
// currencies are two-decimal".
var (
	// stripeZeroDecimal is Stripe's zero-decimal list, less the special cases
	// that Stripe still represents with two decimals.
	stripeZeroDecimal = setOf("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF", "XOF", "XPF")
	// stripeTwoDecimalWhole: whole units only, but sent with two decimals, so
	// every amount is a multiple of 100 (ISK; UGX is on Stripe's zero-decimal
	// list but "to maintain backwards compatibility" is sent as two-decimal).
	stripeTwoDecimalWhole = setOf("ISK", "UGX")
	// stripeWholePayouts: charged with two decimals, but manual payouts must be
	// whole units (amount divisible by 100).
	stripeWholePayouts = setOf("HUF", "TWD")
	// stripeThreeDecimal: three decimals whose last digit must be 0 ("round
	// amounts to the nearest ten").
	stripeThreeDecimal = setOf("BHD", "JOD", "KWD", "OMR", "TND")
)

func setOf(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

func stripeExponent(c string) (int32, bool) {
	switch {
	case stripeZeroDecimal[c]:
		return 0, true
	case stripeThreeDecimal[c]:
		return 3, true
	default:
		return 2, true
	}
}

// StripeUse says what a Stripe amount is for: some rules apply only to payouts.
type StripeUse int

const (
	StripeCharge StripeUse = iota // charges, payment intents, refunds, transfers
	StripePayout                  // manual payouts
)

// StripeAmountStep is the multiple every Stripe amount of this currency and use
// must be (1 when any integer is accepted).
func StripeAmountStep(code string, use StripeUse) (int64, error) {
	c, err := NormalizeCurrency(code)
	if err != nil {
		return 0, err
	}
	switch {
	case stripeTwoDecimalWhole[c]:
		return 100, nil
	case stripeWholePayouts[c] && use == StripePayout:
		return 100, nil
	case stripeThreeDecimal[c]:
		return 10, nil
	}
	return 1, nil
}

// CheckStripeAmount refuses an amount Stripe would refuse for this currency and use
// (Stripe answers invalid_charge_amount_no_decimal_compatible or similar).
func CheckStripeAmount(minor int64, code string, use StripeUse) error {
	step, err := StripeAmountStep(code, use)
	if err != nil {
		return err
	}
	if minor%step != 0 {
		return fmt.Errorf("%w: %s amounts at Stripe must be multiples of %d minor units", ErrPrecision, code, step)
	}
	return nil
}
