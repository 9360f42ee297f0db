package csvsafe

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func TestCell(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "po_123", "po_123"},
		{"empty", "", ""},
		{"equals", "=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"},
		{"plus", "+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"minus formula", "-2+3", "'-2+3"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"negative amount stays a number", "-0.05", "-0.05"},
		{"amount", "3890.00", "3890.00"},
		{"dash id", "-txn_1", "'-txn_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cell(tc.in); got != tc.want {
				t.Fatalf("Cell(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzWriter: whatever the cells, what a spreadsheet reads back never starts
// a formula, and every cell survives the round trip (less the added quote).
func FuzzWriter(f *testing.F) {
	for _, s := range []string{"", "=1+1", "-0.05", "@x", "\t=1", "\r\n=1", "a,b", "\"q\"", "+", "-"} {
		f.Add(s, "bank_txn_1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.Write([]string{a, b}); err != nil {
			return // invalid UTF-8 delimiters etc. are the csv package's business
		}
		w.Flush()
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 1 || len(rows[0]) != 2 {
			t.Fatalf("round trip of %q %q: %v %v", a, b, rows, err)
		}
		for i, in := range []string{a, b} {
			got := rows[0][i]
			if got != "" && strings.ContainsRune("=+@\t\r", rune(got[0])) {
				t.Fatalf("cell %q reads back as %q", in, got)
			}
			if got != "" && got[0] == '-' && !number().MatchString(got) {
				t.Fatalf("cell %q reads back as %q", in, got)
			}
			if got != in && got != "'"+in && got != strings.ReplaceAll("'"+in, "\r\n", "\n") && got != strings.ReplaceAll(in, "\r\n", "\n") {
				t.Fatalf("cell %q read back as %q", in, got)
			}
		}
	})
}
