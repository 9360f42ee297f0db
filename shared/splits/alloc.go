package splits

import (
	"math/big"
	"sort"
)

// allocate divides total (≥ 0) into parts proportional to the exact weights
// (≥ 0) by the largest-remainder method, like money.Allocate but on exact
// rationals: chained percentages have more digits than int64 weights can hold.
// Each part is its exact quota total×wᵢ/Σw rounded down or up; the parts sum to
// total; leftover units go to the largest fractional remainders, ties to the
// lower index. All-zero weights give all-zero parts.
func allocate(total int64, weights []*big.Rat) []int64 {
	parts := make([]int64, len(weights))
	sum := new(big.Rat)
	for _, w := range weights {
		sum.Add(sum, w)
	}
	if sum.Sign() == 0 || total == 0 {
		return parts
	}
	T := new(big.Rat).SetInt64(total)
	rems := make([]*big.Rat, len(weights))
	var allocated int64
	for i, w := range weights {
		q := new(big.Rat).Mul(T, w)
		q.Quo(q, sum)
		fl := floorRat(q)
		parts[i] = fl
		rems[i] = q.Sub(q, new(big.Rat).SetInt64(fl))
		allocated += fl
	}
	left := total - allocated
	if left <= 0 {
		return parts
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return rems[order[a]].Cmp(rems[order[b]]) > 0
	})
	for _, i := range order[:left] {
		parts[i]++
	}
	return parts
}

// floorRat is ⌊q⌋ for q ≥ 0 that fits an int64 (amounts are bounded by MaxAmount).
func floorRat(q *big.Rat) int64 {
	return new(big.Int).Quo(q.Num(), q.Denom()).Int64()
}

// ceilRat is ⌈q⌉ for q ≥ 0.
func ceilRat(q *big.Rat) int64 {
	var quo, rem big.Int
	quo.QuoRem(q.Num(), q.Denom(), &rem)
	if rem.Sign() != 0 {
		quo.Add(&quo, big.NewInt(1))
	}
	return quo.Int64()
}

// roundHalfUp rounds q ≥ 0 to the nearest integer, halves away from zero.
func roundHalfUp(q *big.Rat) int64 {
	return floorRat(new(big.Rat).Add(q, big.NewRat(1, 2)))
}

func ratInt(v int64) *big.Rat { return new(big.Rat).SetInt64(v) }
