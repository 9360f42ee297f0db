package splits

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/payrecon/payrecon/shared/apperr"
)

// randFraction returns a fraction in [0, 1] with 1–6 decimal places, biased
// towards the small percentages real splits use.
func randFraction(r *rand.Rand, max int64) Fraction {
	digits := 1 + r.IntN(6)
	den := int64(1)
	for range digits {
		den *= 10
	}
	num := r.Int64N(den*max/100 + 1)
	f, _ := ParseFraction(new(big.Rat).SetFrac64(num, den).FloatString(digits))
	return f
}

type randCase struct {
	in     Intent
	splits []Split
	taxes  map[string]Tax
}

func randIntent(r *rand.Rand) randCase {
	curs := []string{"EUR", "USD", "JPY", "KWD", "AUD"}
	c := randCase{taxes: map[string]Tax{}}
	in := Intent{ID: "pi_r", Currency: curs[r.IntN(len(curs))]}
	for i := range 1 + r.IntN(4) {
		var a int64
		switch r.IntN(3) {
		case 0:
			a = 1 + r.Int64N(100)
		case 1:
			a = 1 + r.Int64N(1_000_000)
		default:
			a = 1 + r.Int64N(MaxAmount)
		}
		in.Items = append(in.Items, Item{ID: fmt.Sprintf("itm_%d", i), Amount: a})
	}
	if r.IntN(2) == 0 {
		in.Supplier = "ps_supplier"
	}
	for i := range 3 {
		id := fmt.Sprintf("tax_%d", i)
		c.taxes[id] = Tax{ID: id, Inclusive: r.IntN(2) == 0, Percentage: randFraction(r, 30)}
	}
	if r.IntN(3) == 0 {
		in.Tax = "tax_0"
	}
	n := r.IntN(9)
	keepOn := map[string]bool{}
	for i := range n {
		it := in.Items[r.IntN(len(in.Items))]
		s := Split{ID: fmt.Sprintf("sp_%02d", i), Currency: in.Currency, Item: it.ID, PaymentIntent: in.ID,
			Partnership: fmt.Sprintf("ps_%d", r.IntN(4))}
		if r.IntN(3) == 0 {
			s.Tax = fmt.Sprintf("tax_%d", r.IntN(3))
		}
		switch k := r.IntN(10); {
		case k < 3:
			s.Type = PercentageOnAmount
			f := randFraction(r, 40)
			s.Percentage = &f
		case k < 5:
			s.Type = Fixed
			s.Amount = r.Int64N(it.Amount/3 + 1)
		case k < 7 && !keepOn[it.ID]:
			keepOn[it.ID] = true
			s.Type = KeepPercentage
			f := randFraction(r, 100)
			s.Keep = &f
			if in.Supplier != "" && r.IntN(2) == 0 {
				s.Partnership = ""
			}
		case i > 0:
			s.Type = PercentageOnSplits
			f := randFraction(r, 60)
			s.Percentage = &f
			ref := c.splits[r.IntN(len(c.splits))]
			s.Split = ref.ID
			if r.IntN(20) != 0 { // mostly valid: same item as the referenced split
				s.Item = ref.Item
			}
			if r.IntN(30) == 0 { // occasionally a forward reference, which may close a cycle
				s.Split = fmt.Sprintf("sp_%02d", r.IntN(n))
			}
		default:
			s.Type = Fixed
			s.Amount = r.Int64N(it.Amount + 1)
		}
		c.splits = append(c.splits, s)
	}
	c.in = in
	return c
}

// exactOf recomputes a split's exact base from the definitions, independently of Compute.
func exactOf(c randCase, id string) *big.Rat {
	for _, s := range c.splits {
		if s.ID != id {
			continue
		}
		var A int64
		for _, it := range c.in.Items {
			if it.ID == s.Item {
				A = it.Amount
			}
		}
		switch s.Type {
		case Fixed:
			return new(big.Rat).SetInt64(s.Amount)
		case PercentageOnAmount:
			return new(big.Rat).Mul(s.Percentage.Rat(), new(big.Rat).SetInt64(A))
		case KeepPercentage:
			return new(big.Rat).Mul(s.Keep.Rat(), new(big.Rat).SetInt64(A))
		case PercentageOnSplits:
			return new(big.Rat).Mul(s.Percentage.Rat(), exactOf(c, s.Split))
		}
	}
	return nil
}

// within1 reports |v − exact| < 1.
func within1(v int64, exact *big.Rat) bool {
	d := new(big.Rat).Sub(new(big.Rat).SetInt64(v), exact)
	return d.Abs(d).Cmp(big.NewRat(1, 1)) < 0
}

// taxRef is the formulas literally: inclusive A − A/(1+r), exclusive A × r,
// rounded half away from zero.
func taxRef(base int64, t Tax) int64 {
	B := new(big.Rat).SetInt64(base)
	r := t.Percentage.Rat()
	var q *big.Rat
	if t.Inclusive {
		q = new(big.Rat).Sub(B, new(big.Rat).Quo(B, new(big.Rat).Add(big.NewRat(1, 1), r)))
	} else {
		q = new(big.Rat).Mul(B, r)
	}
	fl := new(big.Int).Quo(q.Num(), q.Denom())
	rem := new(big.Rat).Sub(q, new(big.Rat).SetInt(fl))
	if rem.Cmp(big.NewRat(1, 2)) >= 0 {
		fl.Add(fl, big.NewInt(1))
	}
	return fl.Int64()
}

func TestComputeProperties(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42, 2024} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, seed*7919))
			ok, refused := 0, 0
			for n := range 400 {
				c := randIntent(r)
				b, err := Compute(c.in, c.splits, c.taxes)
				if err != nil {
					if !apperr.Is(err, apperr.Unprocessable) {
						t.Fatalf("case %d: non-422 error %v", n, err)
					}
					refused++
					continue
				}
				ok++
				checkBreakdown(t, n, c, b)
				// Deterministic whatever the input order.
				rev := append([]Split(nil), c.splits...)
				for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
					rev[i], rev[j] = rev[j], rev[i]
				}
				b2, err := Compute(c.in, rev, c.taxes)
				if err != nil || !reflect.DeepEqual(b, b2) {
					t.Fatalf("case %d: order changes the result (%v)", n, err)
				}
			}
			if ok < 150 {
				t.Fatalf("only %d of 400 random intents computed (%d refused): generator too hostile", ok, refused)
			}
			t.Logf("%d computed, %d refused with 422", ok, refused)
		})
	}
}

func checkBreakdown(t *testing.T, n int, c randCase, b Breakdown) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("case %d: %s\nintent %+v\nsplits %+v\nbreakdown %+v", n, fmt.Sprintf(format, args...), c.in, c.splits, b)
	}
	byID := map[string]Split{}
	for _, s := range c.splits {
		byID[s.ID] = s
	}
	// onKeepShare is the fraction of the kept share a split funded from it takes
	// (the product of the percentages down its chain), nil when it is not.
	onKeepShare := func(s Split) *big.Rat {
		f := big.NewRat(1, 1)
		for range MaxChainDepth + 1 {
			if s.Type != PercentageOnSplits {
				return nil
			}
			f.Mul(f, s.Percentage.Rat())
			if byID[s.Split].Type == KeepPercentage {
				return f
			}
			s = byID[s.Split]
		}
		return nil
	}
	// Tax totals are on each beneficiary's total per tax, rounded once.
	type taxedKey struct{ who, tax string }
	taxed := map[taxedKey]int64{}
	var total, self int64
	for i, ib := range b.Items {
		it := c.in.Items[i]
		if ib.Amount != it.Amount {
			fail("item %s amount %d", it.ID, ib.Amount)
		}
		var sum, onKeep, selfAmt int64
		var kept *int64
		hasKeep := false
		for _, p := range ib.Parts {
			if p.Amount < 0 || p.TaxTotal < 0 || (p.Kept != nil && *p.Kept < 0) {
				fail("negative part %+v", p)
			}
			sum += p.Amount
			if p.Tax != "" {
				taxed[taxedKey{p.Partnership, p.Tax}] += p.taxBase()
			}
			switch p.Type {
			case Self:
				selfAmt = p.Amount
				self += p.Amount
				continue
			case Supplier:
				if c.in.Supplier == "" || p.Partnership != c.in.Supplier {
					fail("supplier part without supplier: %+v", p)
				}
				continue
			}
			s := byID[p.Split]
			if s.Item != it.ID {
				fail("split %s listed under item %s", s.ID, it.ID)
			}
			base := p.Amount
			switch {
			case s.Type == KeepPercentage:
				hasKeep = true
				kept = p.Kept
				if kept == nil || !within1(*kept, exactOf(c, s.ID)) {
					fail("kept of %s = %v, exact %s", s.ID, kept, exactOf(c, s.ID).FloatString(4))
				}
				base = *kept
			case onKeepShare(s) != nil:
				onKeep += p.Amount // checked against the rounded kept share below
			case s.Type == Fixed:
				if p.Amount != s.Amount {
					fail("fixed %s paid %d, not %d", s.ID, p.Amount, s.Amount)
				}
			default:
				if !within1(p.Amount, exactOf(c, s.ID)) {
					fail("split %s amount %d, exact %s", s.ID, p.Amount, exactOf(c, s.ID).FloatString(4))
				}
			}
			want := int64(0)
			if s.Tax != "" {
				want = taxRef(base, c.taxes[s.Tax])
				if c.taxes[s.Tax].Inclusive && want > base {
					fail("inclusive tax %d above its base %d", want, base)
				}
			}
			if p.TaxTotal != want {
				fail("tax of %s = %d, want %d on %d", s.ID, p.TaxTotal, want, base)
			}
		}
		if sum != it.Amount {
			fail("item %s parts sum to %d, not %d", it.ID, sum, it.Amount)
		}
		if hasKeep {
			if *kept != onKeep+selfAmt {
				fail("item %s: kept %d != splits on it %d + self %d", it.ID, *kept, onKeep, selfAmt)
			}
			for _, p := range ib.Parts {
				if f := onKeepShare(byID[p.Split]); p.Split != "" && f != nil {
					if !within1(p.Amount, new(big.Rat).Mul(f, new(big.Rat).SetInt64(*kept))) {
						fail("split %s on the keep: %d is not %s × %d", p.Split, p.Amount, f.FloatString(6), *kept)
					}
				}
			}
		} else if c.in.Supplier != "" && selfAmt != 0 {
			fail("item %s: supplier intent without keep leaves the tenant %d", it.ID, selfAmt)
		}
		total += it.Amount
	}
	var taxTotal int64
	for k, base := range taxed {
		taxTotal += taxRef(base, c.taxes[k.tax])
	}
	if b.Amount != total || b.TaxTotal != taxTotal || b.Self != self {
		fail("totals: amount %d/%d tax %d/%d self %d/%d", b.Amount, total, b.TaxTotal, taxTotal, b.Self, self)
	}
	var payees int64
	for _, p := range b.Payees {
		payees += p.Amount
	}
	if payees+self != total {
		fail("payees %d + self %d != %d", payees, self, total)
	}
}

func TestPayableProperties(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42, 2024} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			var worst float64
			for n := range 300 {
				shares := make([]Share, 1+r.IntN(8))
				var T int64
				for i := range shares {
					if r.IntN(5) > 0 {
						shares[i].Amount = r.Int64N([]int64{100, 100_000, 1_000_000_000}[r.IntN(3)])
					}
					T += shares[i].Amount
				}
				var received int64
				refunded := false
				for step := 0; ; step++ {
					switch {
					case step > 12 || T == 0:
						received = T
					case r.IntN(6) == 0:
						received -= r.Int64N(received/4 + 1) // a refund: nothing more is payable
						refunded = true
					default:
						received += r.Int64N(T/3 + 2)
					}
					now, err := Payable(received, shares)
					if err != nil {
						t.Fatal(err)
					}
					var paid int64
					for i := range shares {
						if now[i] < 0 || shares[i].Paid+now[i] > shares[i].Amount {
							t.Fatalf("case %d: share %d paid %d+%d of %d", n, i, shares[i].Paid, now[i], shares[i].Amount)
						}
						shares[i].Paid += now[i]
						paid += shares[i].Paid
					}
					R := min(max(received, 0), T)
					if paid > max(R, 0) && sumNow(now) > 0 {
						t.Fatalf("case %d: paid %d beyond received %d", n, paid, R)
					}
					if sumNow(now) > 0 && paid != R {
						t.Fatalf("case %d: received %d but only %d passed on", n, R, paid)
					}
					for i := range shares {
						if T > 0 && sumNow(now) > 0 && !refunded {
							// Without refunds every cumulative payout is its ideal rounded down or up.
							ideal := new(big.Rat).SetFrac64(R, T)
							ideal.Mul(ideal, new(big.Rat).SetInt64(shares[i].Amount))
							if !within1(shares[i].Paid, ideal) {
								t.Fatalf("case %d: share %d paid %d, ideal %s", n, i, shares[i].Paid, ideal.FloatString(3))
							}
							f, _ := ideal.Float64()
							worst = max(worst, abs(float64(shares[i].Paid)-f))
						}
					}
					if received >= T {
						break
					}
				}
				for i := range shares {
					if shares[i].Paid != shares[i].Amount {
						t.Fatalf("case %d: fully received but share %d paid %d of %d", n, i, shares[i].Paid, shares[i].Amount)
					}
				}
			}
			t.Logf("worst drift from proportional: %.3f minor units", worst)
		})
	}
}

func sumNow(v []int64) (s int64) {
	for _, x := range v {
		s += x
	}
	return s
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
