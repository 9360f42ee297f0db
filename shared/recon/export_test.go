package recon

import (
	"cmp"
	"slices"
	"strings"
)

// SortRows sorts a copy of the table's lines and payouts by (currency, amount,
// date, ID): the plain sort of the same records that BenchmarkMatch runs beside
// the matcher (whose first step is this sort, on smaller keys).
func SortRows(t *Table) {
	ls := slices.Clone(t.lines)
	slices.SortFunc(ls, func(a, b tline) int {
		if c := cmp.Compare(a.cur, b.cur); c != 0 {
			return c
		}
		if c := cmp.Compare(a.amt, b.amt); c != 0 {
			return c
		}
		if c := cmp.Compare(a.date, b.date); c != 0 {
			return c
		}
		return strings.Compare(t.arena.str(a.off, int(a.nID)), t.arena.str(b.off, int(b.nID)))
	})
	ps := slices.Clone(t.pays)
	slices.SortFunc(ps, func(a, b tpay) int {
		if c := cmp.Compare(a.cur, b.cur); c != 0 {
			return c
		}
		if c := cmp.Compare(a.amt, b.amt); c != 0 {
			return c
		}
		if c := cmp.Compare(a.date, b.date); c != 0 {
			return c
		}
		return strings.Compare(t.arena.str(a.off, int(a.nID)), t.arena.str(b.off, int(b.nID)))
	})
}
