package splits

import (
	"bytes"
	"fmt"
	"math/big"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/shopspring/decimal"
)

// MaxFractionDigits bounds the decimal places of a percentage, keep or tax rate.
// Real rates need a handful; the bound keeps exact arithmetic cheap and refuses
// inputs such as 1e-999999999 that would otherwise cost unbounded work.
const MaxFractionDigits = 12

// Fraction is an exact number in [0, 1] (0.3 means 30 %). It decodes from a JSON
// number (or a numeric string) by its text, never through float64, and encodes
// as a JSON number.
type Fraction struct {
	d decimal.Decimal
}

// errFraction explains the accepted form in one place.
var errFraction = fmt.Errorf("must be a number between 0 and 1 with at most %d decimal places (0.3 means 30%%)", MaxFractionDigits)

// ParseFraction parses "0.3", "0.125", "1", "3e-1". It is money.ParseFraction
// plus the precision bound.
func ParseFraction(s string) (Fraction, error) {
	if len(s) == 0 || len(s) > 40 {
		return Fraction{}, errFraction
	}
	d, err := money.ParseFraction(s)
	if err != nil || d.Exponent() < -64 || d.Exponent() > 2 {
		return Fraction{}, errFraction
	}
	if d.Exponent() < -MaxFractionDigits {
		// Trailing zeros are harmless ("0.30000000000000000"): normalise before refusing.
		if n := d.Truncate(MaxFractionDigits); !n.Equal(d) {
			return Fraction{}, errFraction
		}
		d = d.Truncate(MaxFractionDigits)
	}
	return Fraction{d: d}, nil
}

// Decimal returns the exact value.
func (f Fraction) Decimal() decimal.Decimal { return f.d }

// Rat returns the exact value as a new big.Rat.
func (f Fraction) Rat() *big.Rat { return f.d.Rat() }

// IsZero reports whether the fraction is 0.
func (f Fraction) IsZero() bool { return f.d.IsZero() }

// String renders the shortest exact decimal ("0.3").
func (f Fraction) String() string { return f.d.String() }

// MarshalJSON writes a JSON number.
func (f Fraction) MarshalJSON() ([]byte, error) { return []byte(f.d.String()), nil }

// UnmarshalJSON reads a JSON number or a numeric string exactly.
func (f *Fraction) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := ParseFraction(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

var oneDec = decimal.NewFromInt(1)
