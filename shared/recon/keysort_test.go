package recon

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSortKeys: the radix path and the comparison path give the order of a
// plain comparison sort by (currency, amount, day, ID).
func TestSortKeys(t *testing.T) {
	tests := []struct {
		name string
		n    int
		amt  func(r *rand.Rand) int64
	}{
		{"small, comparison sort", 1000, func(r *rand.Rand) int64 { return r.Int64N(2000) - 1000 }},
		{"packable, many ties", 50_000, func(r *rand.Rand) int64 { return r.Int64N(300) - 100 }},
		{"packable, wide amounts", 50_000, func(r *rand.Rand) int64 { return r.Int64N(1<<40) - 1<<39 }},
		{"not packable", 20_000, func(r *rand.Rand) int64 {
			return []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}[r.IntN(5)] + r.Int64N(3)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			ids := make([]string, tc.n)
			keys := make([]key, tc.n)
			for i := range keys {
				ids[i] = "id" + strconv.Itoa(r.IntN(tc.n))
				keys[i] = key{cur: int32(r.IntN(3)), amt: tc.amt(r), ord: int32(r.IntN(40)) - 20, i: int32(i)}
			}
			id := func(i int32) string { return ids[i] }
			want := slices.Clone(keys)
			slices.SortStableFunc(want, func(a, b key) int {
				if c := cmpKey(a, b); c != 0 {
					return c
				}
				return strings.Compare(id(a.i), id(b.i))
			})
			sortKeys(keys, id, nil)
			for i := range keys {
				if cmpKey(keys[i], want[i]) != 0 || id(keys[i].i) != id(want[i].i) {
					t.Fatalf("at %d: %+v (%s), want %+v (%s)", i, keys[i], id(keys[i].i), want[i], id(want[i].i))
				}
			}
		})
	}
}
