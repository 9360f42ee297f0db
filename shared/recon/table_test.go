package recon

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/payouts"
)

func TestTableKeepsRows(t *testing.T) {
	long := strings.Repeat("x", 70_000)
	tests := []struct {
		name                      string
		line                      BankLine
		wantName, wantDesc, wantM string
		wantCps                   string
	}{
		{"plain", ln("l1", 100, 0, "STRIPE TRANSFER"), "STRIPE TRANSFER", "", "", ""},
		{"all fields", ln("l2", 100, 0, "N", func(l *BankLine) {
			l.OriginalDescription, l.MerchantName, l.Counterparties = "D", "M", []string{"C1", "", "C3"}
		}), "N", "D", "M", "C1\x00\x00C3"},
		{"texts cut to 64 KiB", ln("l3", 100, 0, long), long[:65535], "", "", ""},
		{"counterparties past 64 KiB dropped", ln("l4", 100, 0, "N", func(l *BankLine) {
			l.Counterparties = []string{"A", strings.Repeat("y", 65534)}
		}), "N", "", "", "A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(1, 0)
			if err := tb.AddLine(&tc.line); err != nil {
				t.Fatal(err)
			}
			n, d, m, c := tb.lineText(0)
			if tb.lineID(0) != tc.line.ID || n != tc.wantName || d != tc.wantDesc || m != tc.wantM || c != tc.wantCps {
				t.Fatalf("got %q %q %q %q %q", tb.lineID(0), n, d, m, c)
			}
		})
	}
}

// TestTableArenaChunks: rows keep their text across many 1 MiB chunks, and
// strings taken before the arena grew stay the same.
func TestTableArenaChunks(t *testing.T) {
	tb := NewTable(0, 0)
	var first string
	const n = 30_000 // about 3 MiB of text
	for i := 0; i < n; i++ {
		id := "txn_" + strconv.Itoa(i)
		l := ln(id, 100, 0, "STRIPE TRANSFER "+strings.Repeat("Z", i%200))
		if err := tb.AddLine(&l); err != nil {
			t.Fatal(err)
		}
		p := po("po_"+strconv.Itoa(i), 100, 0, ref("TR"+strconv.Itoa(i)))
		if err := tb.AddPayout(&p); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = tb.lineID(0)
		}
	}
	if len(tb.arena.chunks) < 3 {
		t.Fatalf("%d chunks, want several", len(tb.arena.chunks))
	}
	for i := 0; i < n; i++ {
		name, _, _, _ := tb.lineText(int32(i))
		if tb.lineID(int32(i)) != "txn_"+strconv.Itoa(i) || name != "STRIPE TRANSFER "+strings.Repeat("Z", i%200) ||
			tb.payoutID(int32(i)) != "po_"+strconv.Itoa(i) || tb.reference(int32(i)) != "TR"+strconv.Itoa(i) {
			t.Fatalf("row %d: %q %q %q %q", i, tb.lineID(int32(i)), name, tb.payoutID(int32(i)), tb.reference(int32(i)))
		}
	}
	if first != "txn_0" {
		t.Fatalf("an early string changed to %q", first)
	}
}

// TestRunTableLeavesTheTable: the same table run twice gives the same result,
// equal to Run's on the Input it came from.
func TestRunTableLeavesTheTable(t *testing.T) {
	lines := []BankLine{ln("l1", 7000, 0, "STRIPE TRACE 99123"), ln("l2", 7000, 0, "STRIPE"), ln("l3", 5000, 1, "ZELLE")}
	pays := []payouts.Payout{po("po_1", 7000, 0, ref("99123")), po("po_2", 7000, 0), po("po_3", 5000, 1)}
	cfg := DefaultConfig(day(30))
	want, err := Run(Input{Lines: lines, Payouts: pays}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tb := NewTable(len(lines), len(pays))
	for i := range pays {
		if err := tb.AddPayout(&pays[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range lines {
		if err := tb.AddLine(&lines[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		got, err := RunTable(tb, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: %+v, want %+v", i, got, want)
		}
	}
	if len(want.Matches) != 2 || want.Matches[0].LineIDs[0] != "l1" || want.Matches[0].Rule != "reference" {
		t.Fatalf("matches %+v, want l1 = po_1 by reference, then l2 = po_2", want.Matches)
	}
}

// TestReferenceIsWholeWords: a reference is evidence only where the line shows
// it as whole words.
func TestReferenceIsWholeWords(t *testing.T) {
	tests := []struct {
		name, text string
		rule       string
	}{
		{"alone", "QUALPAY TR1001", "reference"},
		{"between separators", "QUALPAY/TR1001-X", "reference"},
		{"lower case", "qualpay tr1001", "reference"},
		{"inside a longer number", "QUALPAY TR10012", "provider"},
		{"glued to a word", "QUALPAY XTR1001", "provider"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(Input{Lines: []BankLine{ln("l1", 7000, 0, tc.text)},
				Payouts: []payouts.Payout{po("qp_1", 7000, 0, qualpay, ref("TR1001"))}}, DefaultConfig(day(30)))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Matches) != 1 || res.Matches[0].Rule != tc.rule {
				t.Fatalf("matches %+v, want one by %s", res.Matches, tc.rule)
			}
		})
	}
}
