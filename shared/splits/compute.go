package splits

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/money"
)

// Part is one share of an item: a stored split, or a system part (self, supplier)
// that has no split ID.
type Part struct {
	Split       string    `json:"split,omitempty"`
	Type        SplitType `json:"type"`
	Partnership string    `json:"partnership,omitempty"` // empty for self
	Amount      int64     `json:"amount"`                // what this beneficiary receives
	Kept        *int64    `json:"kept,omitempty"`        // keep-percentage: the tenant's kept share
	Tax         string    `json:"tax,omitempty"`
	TaxTotal    int64     `json:"tax_total"`
}

// ItemBreakdown lists who receives what of one item; Parts sum to Amount.
type ItemBreakdown struct {
	Item   string `json:"item"`
	Name   string `json:"name"`
	Amount int64  `json:"amount"`
	Parts  []Part `json:"parts"`
}

// Payee is what one partnership receives over the whole intent.
type Payee struct {
	Partnership string `json:"partnership"`
	Amount      int64  `json:"amount"`
	TaxTotal    int64  `json:"tax_total"`
}

// Breakdown is the computed division of a payment intent.
type Breakdown struct {
	PaymentIntent string          `json:"payment_intent"`
	Currency      string          `json:"currency"`
	Amount        int64           `json:"amount"`
	Items         []ItemBreakdown `json:"items"`
	Self          int64           `json:"self"`           // the tenant's remainder over all items
	SelfTaxTotal  int64           `json:"self_tax_total"` // the intent's tax on Self, computed once on the total

	Supplier       string  `json:"supplier,omitempty"`
	SupplierAmount int64   `json:"supplier_amount"` // the supplier's parts, including keep-percentage splits it receives
	TaxTotal       int64   `json:"tax_total"`       // every split's and the tenant's tax
	Payees         []Payee `json:"payees"`
}

// Part returns the computed part of a stored split.
func (b Breakdown) Part(splitID string) (Part, bool) {
	for _, it := range b.Items {
		for _, p := range it.Parts {
			if p.Split == splitID && splitID != "" {
				return p, true
			}
		}
	}
	return Part{}, false
}

// Fill copies the computed amount, kept share, tax total and effective
// partnership into a stored split (for reads).
func (b Breakdown) Fill(s *Split) {
	p, ok := b.Part(s.ID)
	if !ok {
		return
	}
	s.Amount = p.Amount
	s.Kept = p.Kept
	s.TaxTotal = p.TaxTotal
	s.Partnership = p.Partnership
}

// unprocessable is a 422 whose message also names the field.
func unprocessable(field, format string, args ...any) *apperr.Error {
	msg := fmt.Sprintf(format, args...)
	return &apperr.Error{Code: apperr.Unprocessable, Message: msg, Fields: map[string]string{field: msg}}
}

// Compute divides every item of the intent among its splits, the supplier and
// the tenant (see the package documentation for the rules and the rounding).
// splits are the intent's splits; taxes holds at least the rates they and the
// intent reference (archived rates still compute: archiving only stops new use).
// Invalid combinations are *apperr.Error 422 with a message naming the problem.
func Compute(in Intent, splits []Split, taxes map[string]Tax) (Breakdown, error) {
	c, err := newComputation(in, splits, taxes)
	if err != nil {
		return Breakdown{}, err
	}
	return c.run()
}

type computation struct {
	in     Intent
	taxes  map[string]Tax
	sorted []*Split // by ID: the deterministic order of parts and ties
	byID   map[string]*Split
	items  map[string]Item
	keepOf map[string]*Split   // item ID → its keep-percentage split
	base   map[string]*big.Rat // exact base: amount, or kept for keep-percentage
	depth  map[string]int      // percentage-on-splits hops below a split
}

func newComputation(in Intent, splits []Split, taxes map[string]Tax) (*computation, error) {
	if len(splits) > MaxSplitsPerIntent {
		return nil, unprocessable("payment_intent", "a payment intent can have at most %d splits", MaxSplitsPerIntent)
	}
	c := &computation{
		in: in, taxes: taxes,
		byID:   make(map[string]*Split, len(splits)),
		items:  make(map[string]Item, len(in.Items)),
		keepOf: map[string]*Split{},
		base:   make(map[string]*big.Rat, len(splits)),
		depth:  make(map[string]int, len(splits)),
	}
	for _, it := range in.Items {
		if it.Amount < 0 || it.Amount > MaxAmount {
			return nil, unprocessable("items", "item %q amount must be between 0 and %d minor units", it.ID, MaxAmount)
		}
		c.items[it.ID] = it
	}
	for i := range splits {
		s := &splits[i]
		if _, dup := c.byID[s.ID]; dup {
			return nil, unprocessable("id", "split %q appears twice", s.ID)
		}
		c.byID[s.ID] = s
		c.sorted = append(c.sorted, s)
	}
	sort.Slice(c.sorted, func(a, b int) bool { return c.sorted[a].ID < c.sorted[b].ID })
	if in.Tax != "" {
		if _, ok := taxes[in.Tax]; !ok {
			return nil, unprocessable("tax", "tax %q of payment intent %q not found", in.Tax, in.ID)
		}
	}
	for _, s := range c.sorted {
		if err := c.check(s); err != nil {
			return nil, err
		}
	}
	for _, s := range c.sorted {
		if _, err := c.exact(s, nil); err != nil {
			return nil, err
		}
	}
	for _, s := range c.sorted {
		// Paid from that item's kept share, so it must belong to the same item.
		if k := c.keepRoot(s); k != nil && k.Item != s.Item {
			return nil, unprocessable("item", "split %q is on item %q but takes its share from the kept part of keep-percentage split %q on item %q: use the same item", s.ID, s.Item, k.ID, k.Item)
		}
	}
	return c, nil
}

// check validates one split against the intent, on its own.
func (c *computation) check(s *Split) error {
	if s.PaymentIntent != "" && s.PaymentIntent != c.in.ID {
		return unprocessable("payment_intent", "split %q belongs to payment intent %q, not %q", s.ID, s.PaymentIntent, c.in.ID)
	}
	if !s.Type.creatable() {
		return unprocessable("type", "split %q: %s", s.ID, typeMessage(string(s.Type)))
	}
	if s.Currency != c.in.Currency {
		return unprocessable("currency", "split %q is in %s but payment intent %q is in %s: a split must use its intent's currency", s.ID, s.Currency, c.in.ID, c.in.Currency)
	}
	if _, ok := c.items[s.Item]; !ok {
		return unprocessable("item", "item %q is not an item of payment intent %q", s.Item, c.in.ID)
	}
	if s.Partnership == "" && (s.Type != KeepPercentage || c.in.Supplier == "") {
		return unprocessable("partnership", "split %q needs a partnership (only a keep-percentage split on an intent with a supplier defaults to the supplier)", s.ID)
	}
	if s.Tax != "" {
		if _, ok := c.taxes[s.Tax]; !ok {
			return unprocessable("tax", "tax %q not found", s.Tax)
		}
	}
	switch s.Type {
	case PercentageOnAmount, PercentageOnSplits:
		if s.Percentage == nil {
			return unprocessable("percentage", "split %q of type %s needs a percentage", s.ID, s.Type)
		}
	case KeepPercentage:
		if s.Keep == nil {
			return unprocessable("keep", "split %q of type keep-percentage needs keep", s.ID)
		}
		if other, ok := c.keepOf[s.Item]; ok {
			return unprocessable("type", "item %q already has keep-percentage split %q: an item has at most one", s.Item, other.ID)
		}
		c.keepOf[s.Item] = s
	case Fixed:
		if s.Amount < 0 || s.Amount > MaxAmount {
			return unprocessable("amount", "split %q: amount must be between 0 and %d minor units", s.ID, MaxAmount)
		}
	}
	if s.Type == PercentageOnSplits {
		if _, ok := c.byID[s.Split]; !ok {
			return unprocessable("split", "split %q references %q, which is not a split of payment intent %q", s.ID, s.Split, c.in.ID)
		}
	}
	return nil
}

// exact computes a split's exact base, following percentage-on-splits
// references with cycle detection and a depth bound. path is the reference
// chain being followed (for the cycle message); recursion is bounded by the
// number of splits (MaxSplitsPerIntent).
func (c *computation) exact(s *Split, path []string) (*big.Rat, error) {
	if b, ok := c.base[s.ID]; ok {
		return b, nil
	}
	for i, id := range path {
		if id == s.ID {
			cycle := append(append([]string{}, path[i:]...), s.ID)
			return nil, unprocessable("split", "percentage-on-splits references form a cycle: %s", strings.Join(cycle, " → "))
		}
	}
	item := c.items[s.Item]
	var b *big.Rat
	switch s.Type {
	case Fixed:
		b = ratInt(s.Amount)
		c.depth[s.ID] = 0
	case PercentageOnAmount:
		b = new(big.Rat).Mul(s.Percentage.Rat(), ratInt(item.Amount))
		c.depth[s.ID] = 0
	case KeepPercentage:
		b = new(big.Rat).Mul(s.Keep.Rat(), ratInt(item.Amount))
		c.depth[s.ID] = 0
	case PercentageOnSplits:
		ref := c.byID[s.Split]
		rb, err := c.exact(ref, append(path, s.ID))
		if err != nil {
			return nil, err
		}
		if c.depth[ref.ID]+1 > MaxChainDepth {
			return nil, unprocessable("split", "percentage-on-splits references may chain at most %d deep (split %q)", MaxChainDepth, s.ID)
		}
		c.depth[s.ID] = c.depth[ref.ID] + 1
		b = new(big.Rat).Mul(s.Percentage.Rat(), rb)
	}
	c.base[s.ID] = b
	return b, nil
}

// onKeep reports whether s is funded from a keep-percentage split's kept share:
// a percentage-on-splits naming the keep split, or naming a split that is itself
// funded from it, at any depth (a sub-agent's sub-agent is paid by the tenant
// too, not by the school). Chains are acyclic and at most MaxChainDepth deep
// once newComputation succeeded.
func (c *computation) onKeep(s *Split) bool {
	return c.keepRoot(s) != nil
}

// keepRoot is the keep-percentage split at the end of s's percentage-on-splits
// chain, or nil.
func (c *computation) keepRoot(s *Split) *Split {
	for range MaxChainDepth + 1 {
		if s.Type != PercentageOnSplits {
			return nil
		}
		ref := c.byID[s.Split]
		if ref.Type == KeepPercentage {
			return ref
		}
		s = ref
	}
	return nil
}

func (c *computation) run() (Breakdown, error) {
	in := c.in
	b := Breakdown{PaymentIntent: in.ID, Currency: in.Currency, Supplier: in.Supplier}
	payees := map[string]*Payee{}
	// taxed sums each beneficiary's base per tax over all items: Qualy "calculates
	// the payment split tax based on the total amount", so each total is taxed
	// once and then rounded, never a sum of per-item roundings (3 × 10.05 at 10 %
	// is 3.02, not 3.03). The beneficiary "" is the tenant.
	type taxedKey struct{ beneficiary, tax string }
	taxed := map[taxedKey]int64{}
	var order []taxedKey
	for _, it := range in.Items {
		ib, err := c.item(it)
		if err != nil {
			return Breakdown{}, err
		}
		for _, p := range ib.Parts {
			if p.Partnership != "" {
				pe := payees[p.Partnership]
				if pe == nil {
					pe = &Payee{Partnership: p.Partnership}
					payees[p.Partnership] = pe
				}
				pe.Amount += p.Amount
			}
			switch {
			case p.Type == Self:
				b.Self += p.Amount
			case in.Supplier != "" && p.Partnership == in.Supplier:
				b.SupplierAmount += p.Amount
			}
			if p.Tax != "" {
				k := taxedKey{p.Partnership, p.Tax}
				if _, seen := taxed[k]; !seen {
					order = append(order, k)
				}
				taxed[k] += p.taxBase()
			}
		}
		b.Amount += it.Amount
		b.Items = append(b.Items, ib)
	}
	for _, k := range order {
		t := TaxOn(taxed[k], c.taxes[k.tax])
		b.TaxTotal += t
		if k.beneficiary == "" {
			b.SelfTaxTotal += t
		} else {
			payees[k.beneficiary].TaxTotal += t
		}
	}
	for _, pe := range payees {
		b.Payees = append(b.Payees, *pe)
	}
	sort.Slice(b.Payees, func(i, j int) bool { return b.Payees[i].Partnership < b.Payees[j].Partnership })
	return b, nil
}

// taxBase is what the part's tax applies to: the kept share of a keep-percentage
// split, the amount otherwise.
func (p Part) taxBase() int64 {
	if p.Kept != nil {
		return *p.Kept
	}
	return p.Amount
}

// item rounds one item: level one divides the item amount among its splits, the
// kept share and the residual; level two divides the rounded kept share among the
// splits on the keep split and self.
func (c *computation) item(it Item) (ItemBreakdown, error) {
	cur := c.in.Currency
	keep := c.keepOf[it.ID]
	var level1, onKeep []*Split
	for _, s := range c.sorted {
		switch {
		case s.Item != it.ID || s == keep:
		case c.onKeep(s):
			onKeep = append(onKeep, s)
		default:
			level1 = append(level1, s)
		}
	}
	weights := make([]*big.Rat, 0, len(level1)+2)
	claimed := new(big.Rat)
	for _, s := range level1 {
		weights = append(weights, c.base[s.ID])
		claimed.Add(claimed, c.base[s.ID])
	}
	keptExact := new(big.Rat)
	if keep != nil {
		keptExact = c.base[keep.ID]
		claimed.Add(claimed, keptExact)
		weights = append(weights, keptExact)
	}
	residual := new(big.Rat).Sub(ratInt(it.Amount), claimed)
	if residual.Sign() < 0 {
		short := ceilRat(new(big.Rat).Neg(residual))
		return ItemBreakdown{}, unprocessable("amount", "the splits on item %q exceed its amount of %s %s by %s %s: reduce them so they fit the item",
			it.ID, money.Format(it.Amount, cur), cur, money.Format(short, cur), cur)
	}
	weights = append(weights, residual)
	alloc := allocate(it.Amount, weights)

	ib := ItemBreakdown{Item: it.ID, Name: it.Name, Amount: it.Amount}
	for i, s := range level1 {
		ib.Parts = append(ib.Parts, c.part(s, alloc[i], nil))
	}
	residualAmount := alloc[len(alloc)-1]
	var self Part
	if keep != nil {
		keptR := alloc[len(level1)]
		w2 := make([]*big.Rat, 0, len(onKeep)+1)
		selfExact := new(big.Rat).Set(keptExact)
		for _, s := range onKeep {
			w2 = append(w2, c.base[s.ID])
			selfExact.Sub(selfExact, c.base[s.ID])
		}
		if selfExact.Sign() < 0 {
			short := ceilRat(new(big.Rat).Neg(selfExact))
			return ItemBreakdown{}, unprocessable("percentage", "the percentage-on-splits of keep-percentage split %q exceed the tenant's kept share on item %q by %s %s",
				keep.ID, it.ID, money.Format(short, cur), cur)
		}
		w2 = append(w2, selfExact)
		alloc2 := allocate(keptR, w2)
		ib.Parts = append(ib.Parts, c.part(keep, residualAmount, &keptR))
		for i, s := range onKeep {
			ib.Parts = append(ib.Parts, c.part(s, alloc2[i], nil))
		}
		// The kept share is taxed through the keep split, so self carries no second tax.
		self = Part{Type: Self, Amount: alloc2[len(alloc2)-1]}
	} else {
		selfAmount := residualAmount
		if c.in.Supplier != "" {
			ib.Parts = append(ib.Parts, Part{Type: Supplier, Partnership: c.in.Supplier, Amount: residualAmount})
			selfAmount = 0
		}
		self = Part{Type: Self, Amount: selfAmount, Tax: c.in.Tax}
		if c.in.Tax != "" {
			self.TaxTotal = TaxOn(selfAmount, c.taxes[c.in.Tax])
		}
	}
	ib.Parts = append(ib.Parts, self)
	return ib, nil
}

// part builds a stored split's part; kept is set for keep-percentage.
func (c *computation) part(s *Split, amount int64, kept *int64) Part {
	p := Part{Split: s.ID, Type: s.Type, Partnership: s.Partnership, Amount: amount, Tax: s.Tax}
	if p.Partnership == "" {
		p.Partnership = c.in.Supplier // keep-percentage on an intent with a supplier (check enforces)
	}
	base := amount
	if kept != nil {
		k := *kept
		p.Kept = &k
		base = k
	}
	if s.Tax != "" {
		p.TaxTotal = TaxOn(base, c.taxes[s.Tax])
	}
	return p
}

// TaxOn is the tax in base minor units at the rate: inclusive t = B − B/(1+r)
// (the tax already inside B, i.e. B·r/(1+r)), exclusive t = B × r (on top of B),
// rounded half away from zero to the minor unit.
func TaxOn(base int64, t Tax) int64 {
	if base <= 0 {
		return 0
	}
	r := t.Percentage.Rat()
	q := new(big.Rat).Mul(ratInt(base), r)
	if t.Inclusive {
		q.Quo(q, new(big.Rat).Add(big.NewRat(1, 1), r))
	}
	return roundHalfUp(q)
}

// typeMessage explains why a type cannot be created.
func typeMessage(t string) string {
	switch SplitType(t) {
	case Self:
		return `"self" is computed by the system: it is the tenant's remainder of each item after every split, shown on reads; it cannot be created (create the other splits and the remainder is yours)`
	case Supplier:
		return `"supplier" is computed by the system: it is what the intent's supplier receives of the items without a keep-percentage split, shown on reads; it cannot be created (set "supplier" on the payment intent instead)`
	case "":
		return "type is required: one of percentage-on-amount, percentage-on-splits, fixed, keep-percentage"
	default:
		return fmt.Sprintf("unknown type %q: use one of percentage-on-amount, percentage-on-splits, fixed, keep-percentage", t)
	}
}
