package recon

import (
	"math/bits"
	"slices"
	"strings"
)

// sortKeys sorts keys by (currency, amount, day), then by id. Real data packs
// those three into far fewer than 64 bits (a few currencies, amounts under a
// few million minor units apart, a year or two of business days), so they are
// packed into one integer and radix-sorted, several times faster than a
// comparison sort at a million keys; equal keys then sort by ID. Small or
// unpackable inputs take the comparison sort. scratch is reused when it is
// big enough; the buffer used is returned for the next call.
func sortKeys(keys []key, id func(int32) string, scratch []key) []key {
	byID := func(a, b key) int {
		if c := cmpKey(a, b); c != 0 {
			return c
		}
		return strings.Compare(id(a.i), id(b.i))
	}
	if len(keys) < 4096 {
		slices.SortFunc(keys, byID)
		return scratch
	}
	lo, hi := keys[0], keys[0]
	for _, k := range keys {
		lo.cur, hi.cur = min(lo.cur, k.cur), max(hi.cur, k.cur)
		lo.amt, hi.amt = min(lo.amt, k.amt), max(hi.amt, k.amt)
		lo.ord, hi.ord = min(lo.ord, k.ord), max(hi.ord, k.ord)
	}
	// Unsigned differences cannot overflow: hi >= lo.
	bc := bits.Len64(uint64(hi.cur) - uint64(lo.cur))
	ba := bits.Len64(uint64(hi.amt) - uint64(lo.amt))
	bo := bits.Len64(uint64(hi.ord) - uint64(lo.ord))
	if bc+ba+bo > 64 {
		slices.SortFunc(keys, byID)
		return scratch
	}
	packed := func(k *key) uint64 {
		return (uint64(k.cur)-uint64(lo.cur))<<(ba+bo) | (uint64(k.amt)-uint64(lo.amt))<<bo | (uint64(k.ord) - uint64(lo.ord))
	}
	// LSD radix sort, 11 bits a pass; each pass is stable, so the last
	// (most significant) digit decides and earlier ones break its ties.
	const digit = 11
	if cap(scratch) < len(keys) {
		scratch = make([]key, len(keys))
	}
	src, dst := keys, scratch[:len(keys)]
	var count [1 << digit]int
	for shift := 0; shift < bc+ba+bo; shift += digit {
		clear(count[:])
		for i := range src {
			count[packed(&src[i])>>shift&(1<<digit-1)]++
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for i := range src {
			d := packed(&src[i]) >> shift & (1<<digit - 1)
			dst[count[d]] = src[i]
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && cmpKey(keys[i], keys[j]) == 0 {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(keys[i:j], byID)
		}
		i = j
	}
	return scratch
}
