// Package recon is the reconciliation core: it pairs bank deposits with processor
// payouts, explains what it cannot pair, and books balanced journal entries.
// It is pure Go (no AWS, no clock, no randomness): callers pass the candidates,
// the IDs already matched and a Config holding "today".
//
// # Matching rules (Match)
//
// Precision comes first: a wrong match is worse than none, so every rule below
// either proves a pairing or leaves it to an exception.
//
//  1. Same currency and exact amount, in minor units with sign (a negative payout
//     pairs with a money-out line). Amounts are never compared approximately.
//  2. Date window: the bank date is within Before..After business days of the
//     payout's arrival date (default -1..+5; weekends and Config.Calendar's
//     holidays do not count; a Saturday posting counts as the next business day).
//  3. Descriptor evidence ranks the candidates that pass 1 and 2, never more:
//     3 = the payout's reference/trace number is on the line (as whole words:
//     "TR1001" is on "ACH TR1001" but not on "TR10012"), 2 = its account's
//     statement descriptor (Stripe) or ach_description (Qualpay), 1 = the
//     provider's keyword (Config.Keywords: "STRIPE", "QUALPAY", plus any company
//     descriptors), 0 = nothing. A line that names someone else is no candidate
//     at all: another provider, another account's descriptor, a non-processor
//     text (Config.NotProcessor: check, Zelle, transfer…), or a Plaid merchant
//     name / counterparty that is not a provider.
//  4. A line and a payout are paired when each is the other's only best-evidence
//     candidate. Failing that, an exact-date pairing (bank date == arrival date)
//     is taken only when it is the only exact one on both sides and every other
//     best candidate of either side has an exact partner of its own; otherwise
//     nobody can tell, and the whole cluster becomes one `ambiguous` exception.
//  5. Evidence-0 pairings (amount and date only) wait until both windows have
//     passed, so every competing line or payout has had time to arrive.
//  6. Batched deposits: one line equals the exact sum of 2..SubsetMaxSize payouts
//     of one provider account with the same arrival date. The search enumerates
//     subsets of each (provider, account, currency, arrival day) block of at most
//     SubsetMaxPayouts open payouts, deterministically and within SubsetBudget
//     steps, and looks every sum up in the sorted line index. A batch is accepted
//     only if it is the line's only solution, claims no payout another line
//     claims, its evidence is at least GroupMinEvidence, no block the line could
//     draw on was left unsearched, and neither the line nor its payouts has a
//     one-to-one candidate with as much evidence. The search runs before each
//     pairing round, and no one-to-one pairing may take a line or payout that a
//     batch solution with at least as much evidence uses.
//  7. Failed (or canceled) payouts never explain a deposit alone. When the bank
//     shows the deposit and, within ReturnWindow business days, a money-out line
//     of the same amount (the bank return), both lines are paired with the failed
//     payout as a `returned` match whose entries net to zero.
//  8. Pending and in-transit payouts take part as competitors (they can make a
//     line ambiguous) but are never matched; a line whose only partner is one of
//     them waits. A payout whose itemisation is incomplete can win a line but
//     produces an `itemisation_incomplete` exception instead of a match.
//
// # Exceptions
//
//   - ambiguous: lines and payouts whose exact-amount candidates could not be told
//     apart (or a line with two batch solutions), listed together. Reported at once.
//   - itemisation_incomplete: a paid payout whose items do not sum to its amount.
//   - amount_mismatch: no exact partner once the window has passed, but a payout
//     (or line) in the window within tolerance: 0 < |diff| <= max(NearBasisPoints
//     of the payout amount, NearMinor minor units) — default 1% or 1.00.
//   - currency_mismatch: a payout in a currency none of the company's bank
//     accounts hold, once its window has passed, with the lines naming its
//     account in the window in other currencies (converted by the bank?) listed.
//   - unmatched_payout: a paid payout with no candidate at all after its window.
//   - unmatched_deposit: a line naming a provider (a keyword or a known payout
//     descriptor) with no candidate After business days after it posted.
//
// Lines that name no provider and have no candidate are ordinary bank activity:
// counted in Stats.Unrelated, not reported.
//
// Everything is deterministic and independent of input order (no map iteration
// reaches the output; ties break by ID): matches come sorted by (date, amount,
// line ID), exceptions by key. The work is O(n log n): lines and payouts are
// sorted by (currency, amount, business day) and joined in one pass; each line's
// text is read once, through a word index of every keyword, descriptor and
// payout reference (not pattern by pattern, nor pair by pair), so the evidence
// of a pair is a look-up; each node keeps at most MaxCandidates candidates (more
// makes it ambiguous), and batch search is bounded per block.
//
// # Memory
//
// The input is a Table (Run builds one from an Input): IDs and texts in one
// string arena, repeated values interned, one 32- or 40-byte value struct per
// line or payout. The working state is a few flat arrays of 8-40 bytes per line
// and payout, dropped before the result is built. At a million lines the process
// peaks under 600 MiB resident (BenchmarkMatch measures it in a child process).
package recon
