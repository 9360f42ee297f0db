package splits

import (
	"fmt"
	"math/big"
)

// Share is one beneficiary's full entitlement on an intent and what it has been
// paid so far (the tenant's own remainder is a share too, so that it takes its
// proportion of a partial payment like everyone else).
type Share struct {
	Amount int64 // full entitlement, minor units
	Paid   int64 // already paid out
}

// Payable says how much each share may be paid now, given the total received so
// far on the intent (all partial payments together, net of refunds).
//
// The rule: nobody is paid beyond what was received, nobody beyond their
// entitlement, and money received is passed on in proportion. Precisely, with
// T = Σ Amount and R = min(received, T), share i is due R × Amountᵢ / T so far
// (its ideal), so it still lacks dᵢ = max(0, idealᵢ − Paidᵢ). The budget
// R − Σ Paid is divided among the shares in proportion to dᵢ by the
// largest-remainder method (exact rationals, ties to the lower index). When no
// share is ahead of its ideal, Σ dᵢ equals the budget, so every cumulative payout
// is its ideal rounded down or up; and since the budget never exceeds Σ dᵢ, a
// share never gets more than ⌈dᵢ⌉, so never beyond ⌈idealᵢ⌉ ≤ Amountᵢ. Once
// everything is received every share is paid exactly its Amount.
//
// When less has been received than was already paid (a refund after payouts),
// nothing is payable; clawing back is a separate decision.
func Payable(received int64, shares []Share) ([]int64, error) {
	var total, paid int64
	for i, s := range shares {
		if s.Amount < 0 || s.Paid < 0 || s.Paid > s.Amount || s.Amount > MaxAmount*MaxItems {
			return nil, fmt.Errorf("payable: share %d has amount %d and paid %d", i, s.Amount, s.Paid)
		}
		total += s.Amount
		paid += s.Paid
	}
	r := min(max(received, 0), total)
	budget := r - paid
	now := make([]int64, len(shares))
	if budget <= 0 {
		return now, nil
	}
	if r == total {
		for i, s := range shares {
			now[i] = s.Amount - s.Paid // fully received: settle every share exactly
		}
		return now, nil
	}
	lack := make([]*big.Rat, len(shares))
	R, T := ratInt(r), ratInt(total)
	for i, s := range shares {
		d := new(big.Rat).Mul(R, ratInt(s.Amount))
		d.Quo(d, T).Sub(d, ratInt(s.Paid))
		if d.Sign() < 0 {
			d.SetInt64(0) // ahead of its ideal (an earlier rounding up): nothing more yet
		}
		lack[i] = d
	}
	return allocate(budget, lack), nil
}
