package qualpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrecon/payrecon/shared/money"
)

// Amount is an exact decimal that Qualpay sends as a JSON string ("100.00",
// e.g. amt_ach). Number is the same for fields the spec types as JSON numbers
// (statement amounts such as amt_net). Both decode from either form, keep the
// literal text (never a float64) and convert to minor units with Minor.
type Amount struct{ text string }

// Number is an exact decimal sent as a JSON number literal.
type Number struct{ text string }

// ParseAmount makes an Amount from decimal text ("12.34").
func ParseAmount(s string) (Amount, error) {
	t, err := checkDecimal(s)
	return Amount{t}, err
}

// ParseNumber makes a Number from decimal text.
func ParseNumber(s string) (Number, error) {
	t, err := checkDecimal(s)
	return Number{t}, err
}

// AmountFromMinor renders minor units of currency as an Amount.
func AmountFromMinor(minor int64, currency string) Amount {
	return Amount{money.Format(minor, currency)}
}

// NumberFromMinor renders minor units of currency as a Number.
func NumberFromMinor(minor int64, currency string) Number {
	return Number{money.Format(minor, currency)}
}

func checkDecimal(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "", fmt.Errorf("qualpay: %q is not a decimal amount", s)
	}
	if _, err := decimal.NewFromString(s); err != nil {
		return "", fmt.Errorf("qualpay: %q is not a decimal amount", s)
	}
	return s, nil
}

// IsZero reports whether the amount was absent.
func (a Amount) IsZero() bool { return a.text == "" }

// String is the literal decimal text.
func (a Amount) String() string { return a.text }

// Minor converts to int64 minor units of currency, exactly (money.ParseMinor).
func (a Amount) Minor(currency string) (int64, error) { return minor(a.text, currency) }

// IsZero reports whether the number was absent.
func (n Number) IsZero() bool { return n.text == "" }

// String is the literal decimal text.
func (n Number) String() string { return n.text }

// Minor converts to int64 minor units of currency, exactly.
func (n Number) Minor(currency string) (int64, error) { return minor(n.text, currency) }

func minor(text, currency string) (int64, error) {
	if text == "" {
		return 0, errors.New("qualpay: amount missing")
	}
	v, err := money.ParseMinor(text, currency)
	if err != nil {
		return 0, fmt.Errorf("qualpay: amount %q in %s: %w", text, currency, err)
	}
	return v, nil
}

// MarshalJSON writes a JSON string.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.text == "" {
		return []byte("null"), nil
	}
	return json.Marshal(a.text)
}

// UnmarshalJSON accepts "12.34", 12.34 or null.
func (a *Amount) UnmarshalJSON(b []byte) error {
	t, err := decodeDecimal(b)
	a.text = t
	return err
}

// MarshalJSON writes the literal as a JSON number (exact: no float round trip).
func (n Number) MarshalJSON() ([]byte, error) {
	if n.text == "" {
		return []byte("null"), nil
	}
	return []byte(n.text), nil
}

// UnmarshalJSON accepts 12.34, "12.34" or null.
func (n *Number) UnmarshalJSON(b []byte) error {
	t, err := decodeDecimal(b)
	n.text = t
	return err
}

func decodeDecimal(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return "", nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		if strings.TrimSpace(s) == "" {
			return "", nil
		}
	}
	return checkDecimal(s)
}

// ISO 4217 numeric codes Qualpay reports (tran_currency "840") mapped to
// alphabetic ones. Qualpay settles in North American currencies; the rest are
// listed so a foreign transaction reads clearly rather than failing.
var numericCurrencies = map[string]string{
	"840": "USD", "124": "CAD", "978": "EUR", "826": "GBP", "036": "AUD",
	"392": "JPY", "484": "MXN", "756": "CHF", "554": "NZD", "752": "SEK",
}

// CurrencyFromNumeric maps an ISO 4217 numeric code ("840", "36") to its
// alphabetic code ("USD", "AUD").
func CurrencyFromNumeric(code string) (string, error) {
	c := strings.TrimSpace(code)
	for len(c) < 3 {
		c = "0" + c
	}
	if a, ok := numericCurrencies[c]; ok {
		return a, nil
	}
	return "", fmt.Errorf("qualpay: unsupported currency code %q", code)
}

// ParseDate reads Qualpay's report dates ("2016-07-01", "2016-07-01 00:00:00+00:00"
// or RFC 3339) as a calendar date: midnight UTC of the date as written, so an
// offset never moves a posting date to the neighbouring day.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.DateOnly, "2006-01-02 15:04:05-07:00", "2006-01-02 15:04:05Z07:00", time.RFC3339Nano, time.DateTime} {
		if t, err := time.Parse(layout, s); err == nil {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, fmt.Errorf("qualpay: unrecognised date %q", s)
}
