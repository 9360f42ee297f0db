// Package splits is the payment-split engine: a tenant (a company) bills a payer
// through a payment intent made of items, and each item's money is divided among
// beneficiaries (partnerships: schools, suppliers, agents, sub-agents) and the
// tenant itself. Everything here is pure: no AWS, no clock, no I/O.
//
// # Conventions
//
// Money is int64 minor units with an ISO currency. Percentages (percentage, keep,
// tax rates) are exact fractions 0–1 parsed from the JSON text without float64.
//
// # Split types
//
//   - percentage-on-amount: amount = percentage × item amount.
//   - percentage-on-splits: amount = percentage × base of the split named in
//     "split" (same intent). The base of a split is its amount, except for a
//     keep-percentage split, whose base is the tenant's kept share. References
//     may chain up to MaxChainDepth; cycles are refused.
//   - fixed: a flat amount.
//   - keep-percentage: the tenant keeps keep × item amount ("kept"); the split's
//     partnership receives what is left of the item after the kept share and the
//     item's other splits ("amount"). Its tax is computed on the kept share.
//     At most one per item. When the intent has a supplier and the split names no
//     partnership, the supplier is that partnership, so the supplier receives what
//     is left after keep-percentage and the other splits.
//   - self and supplier are computed parts, never created: self is the tenant's
//     remainder, supplier is the supplier's share.
//
// # Who funds what (per item of amount A)
//
//	A = Σ splits (fixed, percentage-on-amount, percentage-on-splits not on the keep split)
//	  + kept                         (only when the item has a keep-percentage split)
//	  + residual                     (what nobody claimed)
//
//	kept = Σ percentage-on-splits funded from the keep split + self
//
// A percentage-on-splits is funded from the kept share when it references the
// keep split, or references a split that is itself funded from it, at every
// depth of the chain: a sub-agent's sub-agent is paid by the tenant, not the
// school.
//
// The residual goes to the keep-percentage split's partnership when the item has
// one; otherwise to the intent's supplier when it has one ("the whole item goes to
// the supplier and the other partnerships"); otherwise to the tenant (self).
// So a percentage-on-splits funded from a keep-percentage split reduces what
// the tenant keeps, and every other split reduces the residual.
//
// # Rounding
//
// Every share is first computed exactly (rational arithmetic, references chained
// on exact values). Each item is then rounded with the largest-remainder method,
// the same method as money.Allocate: the item amount is divided among its
// level-one shares (the splits above, kept, residual) by flooring each exact
// share and giving the leftover minor units, one each, to the shares with the
// largest fractional remainders (ties to the earlier share, in split-ID order,
// then system parts last). When the item has a keep-percentage split, its rounded
// kept share is divided the same way between the splits on it and self. Hence:
//   - the parts of an item (every split amount, self and supplier) sum exactly to
//     the item amount, and the kept share is exactly its splits plus self;
//   - every rounded part is its exact value rounded down or up, never further.
//
// Splits can never exceed their item: a negative residual (or splits on the keep
// split that exceed the kept share) is refused with 422 naming the shortfall.
//
// Tax on a split is computed on its base (amount; kept for keep-percentage),
// inclusive t = B − B/(1+r) or exclusive t = B × r, rounded half away from zero
// to the minor unit. Taxes are informational (tax_total) and never change who
// receives what. The tenant's remainder (self) on an item without a
// keep-percentage split is taxed with the intent's tax, if any (with a keep split,
// the kept share is already taxed through that split).
//
// Tax totals (tax_total of the breakdown, of each payee and self_tax_total) are
// computed once per beneficiary and tax on the total that tax applies to over all
// items, then rounded: never a sum of per-item roundings (3 items of 10.05 at
// 10 % exclusive give 3.02, where per-item rounding gives 3 × 1.01 = 3.03). A
// split has one item, so its own tax_total is already on its total; the per-item
// self parts show each item's own tax for information only.
package splits
