package money

import (
	"errors"
	"fmt"
	"sort"
)

//go:generate go run ../../cmd/gen-iso4217 iso4217.go

// Units is one provider's way of writing a currency's amounts as integer minor
// units. ISO 4217 and Stripe disagree for a few currencies (ISK is zero-decimal
// in ISO but Stripe keeps it two-decimal, so 100 = 1 króna at Stripe and 1 = 1
// króna in a Plaid bank feed), so every amount is read and written with the
// Units of the provider it came from, and compared only after Rescale.
type Units struct {
	name     string
	exponent func(code string) (int32, bool)
}

// ISO is ISO 4217's minor units, from github.com/bojanz/currency (its data is
// generated from the ISO 4217 maintenance agency's list one, SIX Group), copied
// into a generated table (iso4217.go) so no Lambda initialises that module's
// decimal library on a cold start; a test keeps the two equal.
// Plaid amounts (decimal strings) and Qualpay amounts use it.
var ISO = Units{name: "ISO 4217", exponent: isoExponent}

// Plaid writes bank amounts as decimals with ISO 4217 minor units.
var Plaid = ISO

// Stripe is Stripe's integer amount representation (see StripeRules).
var Stripe = Units{name: "Stripe", exponent: stripeExponent}

func isoExponent(code string) (int32, bool) {
	i := sort.Search(len(iso4217), func(i int) bool { return iso4217[i].code >= code })
	if i < len(iso4217) && iso4217[i].code == code {
		return int32(iso4217[i].digits), true
	}
	return 0, false
}

// ErrUnknownCurrency: a well-formed code that the units' table does not list.
var ErrUnknownCurrency = errors.New("unknown currency")

// Exponent is the number of minor-unit digits of a currency under these units.
func (u Units) Exponent(code string) (int32, error) {
	c, err := NormalizeCurrency(code)
	if err != nil {
		return 0, err
	}
	e, ok := u.exponent(c)
	if !ok {
		return 0, fmt.Errorf("%w: %s has no %s minor units", ErrUnknownCurrency, c, u.name)
	}
	return e, nil
}

// Rescale converts an amount of currency from one provider's units to another's
// exactly (Stripe ISK 4000 -> ISO ISK 40). A remainder is ErrPrecision: a
// fraction the other side cannot represent is never rounded away silently.
func Rescale(minor int64, code string, from, to Units) (int64, error) {
	fe, err := from.Exponent(code)
	if err != nil {
		return 0, err
	}
	te, err := to.Exponent(code)
	if err != nil {
		return 0, err
	}
	for ; fe < te; fe++ {
		if minor > maxScalable || minor < -maxScalable {
			return 0, ErrRange
		}
		minor *= 10
	}
	for ; fe > te; fe-- {
		if minor%10 != 0 {
			return 0, ErrPrecision
		}
		minor /= 10
	}
	return minor, nil
}

const maxScalable = (1<<63 - 1) / 10
