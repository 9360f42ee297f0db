// Package csvsafe writes CSV that a spreadsheet opens as text, never as a
// formula. Every cell is outside text somewhere (bank transaction IDs come from
// the bank feed, payout/payment/source IDs and memos from providers), so every
// cell goes through Cell (OWASP "CSV Injection": a cell starting with =, +, -,
// @, tab or carriage return is prefixed with a single quote).
package csvsafe

import (
	"encoding/csv"
	"io"
	"regexp"
	"sync"
)

// number is a plain decimal we wrote ourselves ("-0.05"): a spreadsheet reads
// it as a number, and it cannot carry a formula, so it is left alone.
//
// Compiled on first use, not during the Lambda cold start.
var number = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-?[0-9]{1,30}(\.[0-9]{1,30})?$`) })

// Cell neutralises one value.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if s[0] == '-' && number().MatchString(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// Writer is a csv.Writer that neutralises every cell it writes.
type Writer struct {
	w   *csv.Writer
	row []string
}

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, each cell through Cell.
func (w *Writer) Write(record []string) error {
	w.row = w.row[:0]
	for _, c := range record {
		w.row = append(w.row, Cell(c))
	}
	return w.w.Write(w.row)
}

// Flush writes buffered data; Error reports any write error.
func (w *Writer) Flush()       { w.w.Flush() }
func (w *Writer) Error() error { return w.w.Error() }
