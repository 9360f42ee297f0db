// Package money handles amounts as int64 minor units with an explicit ISO 4217
// currency. Nothing here uses floating point: decimal strings are parsed exactly
// and splitting uses the largest-remainder method so parts always sum to the whole.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/shopspring/decimal"
)

// Sentinel errors, so callers can map them to field-level validation messages.
var (
	ErrCurrency  = errors.New("currency must be a 3-letter ISO 4217 code")
	ErrPrecision = errors.New("more decimal places than the currency allows")
	ErrSyntax    = errors.New("not a decimal number")
	ErrRange     = errors.New("amount out of range")
)

// NormalizeCurrency upper-cases and checks a currency code ("usd" -> "USD").
func NormalizeCurrency(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) != 3 {
		return "", ErrCurrency
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return "", ErrCurrency
		}
	}
	return c, nil
}

// Exponent is the ISO 4217 number of minor-unit digits of a currency (USD 2,
// JPY 0, ISK 0, KWD 3). Amounts from Stripe use Stripe.Exponent instead.
func Exponent(code string) (int32, error) { return ISO.Exponent(code) }

// ParseMinor converts a decimal string ("3890.00", "-0.30", "1e2") to ISO minor
// units of the currency, exactly. More decimals than the currency allows is an
// error unless they are zeros ("1.230" is fine for USD, "1.234" is not).
func ParseMinor(s, currency string) (int64, error) { return ISO.ParseMinor(s, currency) }

// ParseMinor converts a decimal string to minor units under these rules.
func (u Units) ParseMinor(s, currency string) (int64, error) {
	exp, err := u.Exponent(currency)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return 0, ErrSyntax
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, ErrSyntax
	}
	return DecimalToMinor(d, exp)
}

// DecimalToMinor shifts an exact decimal by exp places and requires an integer result.
func DecimalToMinor(d decimal.Decimal, exp int32) (int64, error) {
	shifted := d.Shift(exp)
	if !shifted.IsInteger() {
		return 0, ErrPrecision
	}
	bi := shifted.BigInt()
	if !bi.IsInt64() {
		return 0, ErrRange
	}
	return bi.Int64(), nil
}

// Format renders ISO minor units as a plain decimal string ("3890.00", "-0.05", "1500").
func Format(minor int64, currency string) string { return ISO.Format(minor, currency) }

// Format renders minor units under these rules as a plain decimal string.
func (u Units) Format(minor int64, currency string) string {
	exp, err := u.Exponent(currency)
	if err != nil {
		exp = 2
	}
	return decimal.New(minor, -exp).StringFixed(exp)
}

// Allocate splits total into len(weights) parts proportional to the weights,
// using the largest-remainder method: each part is floored, then the leftover
// units go one by one to the parts with the largest remainders (ties to the
// lower index). The parts always sum exactly to total. A negative total is split
// as its absolute value and negated. Weights must be non-negative and not all zero.
func Allocate(total int64, weights []int64) ([]int64, error) {
	if len(weights) == 0 {
		return nil, errors.New("allocate: no weights")
	}
	var sum big.Int
	for _, w := range weights {
		if w < 0 {
			return nil, errors.New("allocate: negative weight")
		}
		sum.Add(&sum, big.NewInt(w))
	}
	if sum.Sign() == 0 {
		return nil, errors.New("allocate: weights sum to zero")
	}
	neg := total < 0
	if total == math.MinInt64 {
		return nil, ErrRange
	}
	abs := total
	if neg {
		abs = -total
	}
	parts := make([]int64, len(weights))
	rems := make([]*big.Int, len(weights))
	var allocated int64
	T := big.NewInt(abs)
	for i, w := range weights {
		var q, r big.Int
		q.Mul(T, big.NewInt(w))
		q.QuoRem(&q, &sum, &r)
		parts[i] = q.Int64()
		rems[i] = new(big.Int).Set(&r)
		allocated += parts[i]
	}
	left := abs - allocated
	for ; left > 0; left-- {
		best := -1
		for i := range rems {
			if rems[i].Sign() < 0 {
				continue // already received a unit
			}
			if best == -1 || rems[i].Cmp(rems[best]) > 0 {
				best = i
			}
		}
		parts[best]++
		rems[best].SetInt64(-1)
	}
	if neg {
		for i := range parts {
			parts[i] = -parts[i]
		}
	}
	return parts, nil
}

// ParseFraction parses a fraction in [0, 1] given as a decimal string ("0.3", "0.125").
func ParseFraction(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	if err != nil {
		return decimal.Zero, ErrSyntax
	}
	if d.IsNegative() || d.GreaterThan(decimal.NewFromInt(1)) {
		return decimal.Zero, fmt.Errorf("%w: fraction must be between 0 and 1", ErrRange)
	}
	return d, nil
}

// MulFraction returns amount × frac rounded half away from zero to a whole minor unit,
// plus whether rounding happened. Callers that need parts to sum to a whole should use Allocate.
func MulFraction(amount int64, frac decimal.Decimal) (int64, bool) {
	exact := decimal.NewFromInt(amount).Mul(frac)
	r := exact.Round(0)
	return r.IntPart(), !r.Equal(exact)
}
