// Package reconsim generates realistic, noisy reconciliation data with the true
// answer, and scores a matcher's result against it. Everything is seeded: the
// same Config always yields the same Scenario.
package reconsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
)

// Config sets the size and the noise. Rates are probabilities per deposit
// unless noted.
type Config struct {
	Seed            uint64
	Start           recon.Date // first arrival day (default 2024-01-01)
	Days            int        // business days of payouts
	StripeAccounts  int
	QualpayAccounts int
	PayoutRate      float64 // chance an account pays out on a business day

	BatchRate      float64 // deposit carries 2-3 payouts of the same account and day
	TwinRate       float64 // payout amount equal to another payout of the last 3 business days
	DelayRate      float64 // bank posts 1-3 business days after arrival
	EarlyRate      float64 // bank posts one business day early
	WeekendRate    float64 // a Friday arrival posts on Saturday
	PendingRate    float64 // line appears pending first, then posted with a new ID
	RemovedRate    float64 // a duplicate line is added, then removed
	ModifiedRate   float64 // line's text is modified by a later page
	NegativeRate   float64 // refunds exceed payments: negative payout, money-out line
	FailedRate     float64 // payout fails (half of them show deposit + bank return)
	MissingRate    float64 // paid payout never reaches the bank
	IncompleteRate float64 // itemisation incomplete
	MismatchRate   float64 // bank shows the amount less a small fee
	ForeignRate    float64 // EUR payout converted into the USD account
	WeakRate       float64 // line shows no provider text at all
	GenericRate    float64 // line shows only the provider name
	OrphanRate     float64 // provider-looking deposit that no payout explains

	UnrelatedPerDay    float64 // customer deposits, transfers
	UnrelatedEqualRate float64 // share of those equal to a nearby payout
	ExpensesPerDay     float64 // money-out lines

	EURAccount bool // the company also banks in EUR; one Stripe account pays out in EUR
	Items      bool // itemise payouts (needed for journal entries)
	Feed       bool // go through Plaid sync pages (pending, modified, removed) instead of direct lines
}

// Small is the accuracy profile used in tests: every kind of noise, itemised,
// through the Plaid feed.
func Small(seed uint64) Config {
	return Config{
		Seed: seed, Days: 120, StripeAccounts: 2, QualpayAccounts: 1, PayoutRate: 0.8,
		BatchRate: 0.2, TwinRate: 0.02, DelayRate: 0.12, EarlyRate: 0.03, WeekendRate: 0.3,
		PendingRate: 0.3, RemovedRate: 0.03, ModifiedRate: 0.05, NegativeRate: 0.02, FailedRate: 0.02,
		MissingRate: 0.01, IncompleteRate: 0.01, MismatchRate: 0.01, ForeignRate: 0.01,
		WeakRate: 0.03, GenericRate: 0.3, OrphanRate: 0.01,
		UnrelatedPerDay: 2, UnrelatedEqualRate: 0.1, ExpensesPerDay: 4,
		EURAccount: true, Items: true, Feed: true,
	}
}

// Bench is the scaling profile: about n bank lines, one in five deposits
// batched, about one in twenty deposits ambiguous or unmatched, no items.
func Bench(n int, seed uint64) Config {
	days := 250
	procLines := float64(n) * 0.7
	accounts := max(1, int(procLines/(float64(days)*0.8)))
	return Config{
		Seed: seed, Days: days, StripeAccounts: accounts - accounts/4, QualpayAccounts: accounts / 4, PayoutRate: 0.8,
		BatchRate: 0.2, TwinRate: 0.02, DelayRate: 0.1, EarlyRate: 0.02, WeekendRate: 0.3,
		NegativeRate: 0.01, FailedRate: 0.01, MissingRate: 0.01, IncompleteRate: 0.005, MismatchRate: 0.005,
		ForeignRate: 0.005, WeakRate: 0.02, GenericRate: 0.1, OrphanRate: 0.01,
		UnrelatedPerDay: float64(n) * 0.1 / float64(days), UnrelatedEqualRate: 0.02,
		ExpensesPerDay: float64(n) * 0.2 / float64(days),
	}
}

// Scenario is generated data plus the truth.
type Scenario struct {
	Pages    []recon.SyncPage // when Config.Feed: the Plaid pages, in order
	Lines    []recon.BankLine // posted lines (after the pages, when Config.Feed)
	Payouts  []payouts.Payout
	Today    recon.Date
	Keywords map[string][]string
	Truth    Truth
}

// Truth is the right answer.
type Truth struct {
	// Payouts maps every processor line (deposit, return, orphan, converted,
	// short) to the payouts it really carries (none for an orphan).
	Payouts map[string][]string
	// Matchable lines are those the rules can and must match (deposit lines only).
	Matchable map[string]bool
}

type account struct {
	prov, id, desc, cur, bank string
}

type gen struct {
	cfg     Config
	r       *rand.Rand
	cal     recon.Calendar
	n       int
	s       *Scenario
	recent  []payouts.Payout // ring of recent normal payouts, for twins and equal amounts
	adds    []recon.PlaidTransaction
	later   []recon.PlaidTransaction // posted replacements and modifications (page 2)
	removes []recon.PlaidRemoved
	// amounts of every payout ("USD1234"), and lines emitted once all exist.
	amounts  map[string]bool
	deferred []func()
}

// Generate builds a scenario.
func Generate(cfg Config) (*Scenario, error) {
	if cfg.Start.IsZero() {
		cfg.Start = recon.DateOf(2024, 1, 1)
	}
	g := &gen{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), amounts: map[string]bool{},
		s: &Scenario{Truth: Truth{Payouts: map[string][]string{}, Matchable: map[string]bool{}}}}
	var accts []account
	for i := 0; i < cfg.StripeAccounts; i++ {
		accts = append(accts, account{payouts.Stripe, "acct_" + strconv.Itoa(i), "SHOP" + strconv.Itoa(i) + " ONLINE", "USD", "bank_usd"})
	}
	for i := 0; i < cfg.QualpayAccounts; i++ {
		mid := strconv.Itoa(212000000000 + i)
		accts = append(accts, account{payouts.Qualpay, mid, "QP STORE" + strconv.Itoa(i), "USD", "bank_usd"})
	}
	if cfg.EURAccount {
		accts = append(accts, account{payouts.Stripe, "acct_eu", "SHOP EU", "EUR", "bank_eur"})
	}
	// As reconcile does: the provider names plus each connection's descriptor.
	g.s.Keywords = map[string][]string{payouts.Stripe: {"STRIPE"}, payouts.Qualpay: {"QUALPAY"}}
	for _, a := range accts {
		g.s.Keywords[a.prov] = append(g.s.Keywords[a.prov], a.desc)
	}
	last := cfg.Start
	for d := 0; d < cfg.Days; d++ {
		arr := g.cal.AddBusinessDays(cfg.Start, d)
		last = arr
		for _, a := range accts {
			if g.r.Float64() < cfg.PayoutRate {
				g.deposit(a, arr)
			}
		}
		for k := g.count(cfg.UnrelatedPerDay); k > 0; k-- {
			g.unrelated(arr)
		}
		for k := g.count(cfg.ExpensesPerDay); k > 0; k-- {
			amt := -g.between(300, 300000)
			name := pick(g.r, "CARD PURCHASE OFFICE DEPOT", "PAYROLL ADP", "RENT ACH", "AWS SERVICES")
			g.line(arr, amt, "USD", "bank_usd", name, "", merchantOf[name])
		}
	}
	for _, f := range g.deferred {
		f()
	}
	g.s.Today = g.cal.AddBusinessDays(last, 14)
	if err := g.finishFeed(); err != nil {
		return nil, err
	}
	return g.s, nil
}

func (g *gen) count(rate float64) int {
	n := int(rate)
	if g.r.Float64() < rate-float64(n) {
		n++
	}
	return n
}

func (g *gen) between(lo, hi int64) int64 { return lo + g.r.Int64N(hi-lo+1) }

func pick(r *rand.Rand, s ...string) string { return s[r.IntN(len(s))] }

func (g *gen) id(prefix string) string {
	g.n++
	return prefix + strconv.Itoa(g.n)
}

// deposit creates one processor event: payouts of one account and day, and the
// bank lines they produce.
func (g *gen) deposit(a account, arr recon.Date) {
	cfg := g.cfg
	n := 1
	if g.r.Float64() < cfg.BatchRate {
		n = 2 + g.r.IntN(2)
	}
	cur := a.cur
	outcome := "normal"
	switch x := g.r.Float64(); {
	case n == 1 && x < cfg.FailedRate:
		outcome = "failed"
	case x < cfg.FailedRate+cfg.MissingRate:
		outcome = "missing"
	case x < cfg.FailedRate+cfg.MissingRate+cfg.IncompleteRate:
		outcome = "incomplete"
	case x < cfg.FailedRate+cfg.MissingRate+cfg.IncompleteRate+cfg.MismatchRate:
		outcome = "mismatch"
	case n == 1 && cur == "USD" && x < cfg.FailedRate+cfg.MissingRate+cfg.IncompleteRate+cfg.MismatchRate+cfg.ForeignRate:
		outcome = "foreign"
		cur = "EUR"
	case x < cfg.FailedRate+cfg.MissingRate+cfg.IncompleteRate+cfg.MismatchRate+cfg.ForeignRate+cfg.OrphanRate:
		g.orphan(a, arr) // plus a normal deposit
	}
	negative := n == 1 && outcome == "normal" && g.r.Float64() < cfg.NegativeRate
	var ps []payouts.Payout
	var sum int64
	for i := 0; i < n; i++ {
		p := g.payout(a, arr, cur, negative, outcome == "normal" && n == 1)
		switch outcome {
		case "failed":
			p.Status = payouts.StatusFailed
			p.FailureCode = "account_closed"
		case "incomplete":
			p.ItemisationStatus = payouts.ItemisationIncomplete
			if len(p.Items) > 1 {
				p.Items = p.Items[:len(p.Items)-1]
			}
		}
		sum += p.Amount
		ps = append(ps, p)
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
		g.amounts[p.Currency+strconv.FormatInt(p.Amount, 10)] = true
	}
	slices.Sort(ids)
	g.s.Payouts = append(g.s.Payouts, ps...)
	if outcome == "missing" || (outcome == "failed" && g.r.IntN(2) == 0) {
		return
	}

	// The bank date.
	bd := arr
	switch x := g.r.Float64(); {
	case x < cfg.DelayRate:
		bd = g.cal.AddBusinessDays(arr, 1+g.r.IntN(3))
	case x < cfg.DelayRate+cfg.EarlyRate:
		bd = g.cal.AddBusinessDays(arr, -1)
	case arr.Weekday() == 5 && x < cfg.DelayRate+cfg.EarlyRate+cfg.WeekendRate:
		bd = arr.AddDays(1)
	}
	// The text.
	style := "full"
	switch x := g.r.Float64(); {
	case outcome == "normal" && n == 1 && x < cfg.WeakRate:
		style = "weak"
	case x < cfg.WeakRate+cfg.GenericRate:
		style = "generic"
	}
	name, desc := g.text(a, ps[0], style)
	amt, lcur, bank := sum, a.cur, a.bank
	switch outcome {
	case "mismatch":
		amt = sum - g.between(1, 100) // a bank fee, within the near-equal tolerance
	case "foreign":
		amt, lcur, bank = sum*108/100+g.between(0, 99), "USD", "bank_usd"
	}
	merchant := ""
	if a.prov == payouts.Stripe && style != "weak" {
		merchant = "Stripe" // Plaid's enrichment
	}
	if outcome == "mismatch" || outcome == "foreign" {
		// Emitted at the end, once every payout exists, with an amount no payout
		// has: otherwise the truth itself would be ambiguous.
		g.deferred = append(g.deferred, func() {
			dep := g.line(bd, g.unused(lcur, amt), lcur, bank, name, desc, merchant)
			g.s.Truth.Payouts[dep] = ids
		})
		return
	}
	dep := g.line(bd, amt, lcur, bank, name, desc, merchant)
	g.s.Truth.Payouts[dep] = ids
	if outcome == "normal" {
		g.s.Truth.Matchable[dep] = true
		if style != "weak" {
			// Only payouts whose deposit is really there and names its provider
			// lend their amount to twins and unrelated deposits: an unrelated
			// deposit equal to a payout that never arrived is indistinguishable
			// from that payout's deposit, for a person as for the matcher.
			for _, p := range ps {
				g.remember(p)
			}
		}
	}
	if outcome == "failed" {
		ret := g.line(g.cal.AddBusinessDays(bd, 1+g.r.IntN(4)), -amt, lcur, bank, "RETURN "+name, desc, merchant)
		g.s.Truth.Payouts[ret] = ids
		g.s.Truth.Matchable[dep] = true
	}
}

// payout makes one payout; with items its amount is the exact sum of their nets.
func (g *gen) payout(a account, arr recon.Date, cur string, negative, twinOK bool) payouts.Payout {
	p := payouts.Payout{
		ID: g.id("po_"), Provider: a.prov, AccountID: a.id, Currency: cur, Status: payouts.StatusPaid, Automatic: true,
		ArrivalDate: arr.String(), Descriptor: a.desc, ItemisationStatus: payouts.ItemisationComplete,
	}
	if a.prov == payouts.Qualpay {
		p.ID = "qp_" + a.id + "_" + strconv.Itoa(g.n)
		p.Reference = "TR" + strconv.Itoa(100000+g.n)
	}
	// An equal amount to a recent payout: the hard case for any matcher.
	if twinOK && len(g.recent) > 0 && g.r.Float64() < g.cfg.TwinRate {
		src := g.recent[g.r.IntN(len(g.recent))]
		if sd, err := recon.ParseDate(src.ArrivalDate); err == nil && src.Currency == cur && g.cal.BusinessDays(sd, arr) <= 3 {
			p.Amount = src.Amount
			for _, it := range src.Items {
				it.PayoutID, it.SourceID = p.ID, g.id("txn_")
				p.Items = append(p.Items, it)
			}
			p.ItemCount = len(p.Items)
			return p
		}
	}
	if !g.cfg.Items {
		p.Amount = g.between(1000, 5000000)
		if negative {
			p.Amount = -g.between(500, 50000)
		}
		return p
	}
	add := func(typ string, amount, fee int64, inv string) {
		it := payouts.Item{PayoutID: p.ID, Seq: len(p.Items), SourceID: g.id("txn_"), Type: typ, Amount: amount, Fee: fee,
			Net: amount - fee, Currency: cur, InvoiceID: inv, Created: int64(arr.Days()) * 86400}
		if typ == payouts.ItemCharge {
			it.PaymentID = "ch_" + it.SourceID[4:]
		}
		p.Items = append(p.Items, it)
	}
	charges := 1 + g.r.IntN(6)
	for i := 0; i < charges; i++ {
		gross := g.between(500, 200000)
		add(payouts.ItemCharge, gross, (gross*29+500)/1000+30, g.id("inv_"))
	}
	if negative {
		add(payouts.ItemRefund, -(payouts.SumNet(p.Items) + g.between(100, 20000)), 0, "")
	}
	if g.r.Float64() < 0.1 && !negative {
		add(payouts.ItemRefund, -g.between(100, p.Items[0].Net), 0, "")
	}
	if g.r.Float64() < 0.03 {
		add(payouts.ItemDispute, -g.between(100, 5000), 1500, "")
	}
	if g.r.Float64() < 0.05 {
		add(payouts.ItemAdjustment, g.between(-500, 500), 0, "")
	}
	if g.r.Float64() < 0.1 {
		add(payouts.ItemClimate, -max(1, payouts.SumNet(p.Items)/100), 0, "")
	}
	p.Amount = payouts.SumNet(p.Items)
	if p.Amount == 0 || (p.Amount < 0) != negative {
		// Refunds and disputes ate the payout: top it up with one more payment.
		gross := abs(p.Amount) + g.between(1000, 50000)
		if negative {
			gross = g.between(100, 500)
			add(payouts.ItemRefund, -(p.Amount + gross), 0, "")
		} else {
			add(payouts.ItemCharge, gross, 0, g.id("inv_"))
		}
		p.Amount = payouts.SumNet(p.Items)
	}
	p.ItemCount = len(p.Items)
	return p
}

func abs(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

func (g *gen) remember(p payouts.Payout) {
	const keep = 64
	if len(g.recent) == keep {
		copy(g.recent, g.recent[1:])
		g.recent = g.recent[:keep-1]
	}
	g.recent = append(g.recent, p)
}

// text renders what the bank shows for a processor deposit.
func (g *gen) text(a account, p payouts.Payout, style string) (name, desc string) {
	switch {
	case style == "weak":
		return pick(g.r, "DEPOSIT", "ACH CREDIT", "ELECTRONIC DEPOSIT"), ""
	case a.prov == payouts.Stripe && style == "generic":
		return "STRIPE TRANSFER", ""
	case a.prov == payouts.Stripe:
		return "STRIPE TRANSFER", "STRIPE TRANSFER ST-" + strconv.Itoa(g.n) + " " + a.desc
	case style == "generic":
		return "QUALPAY DEPOSIT", ""
	default:
		desc = a.desc
		if g.r.IntN(3) == 0 {
			desc += " " + p.Reference
		}
		if g.r.IntN(2) == 0 {
			return "QUALPAY " + a.desc, desc
		}
		return a.desc, desc
	}
}

func (g *gen) orphan(a account, arr recon.Date) {
	name := "STRIPE TRANSFER"
	if a.prov == payouts.Qualpay {
		name = "QUALPAY DEPOSIT"
	}
	d, amt := g.cal.AddBusinessDays(arr, g.r.IntN(3)), g.between(1000, 900000)
	g.deferred = append(g.deferred, func() {
		id := g.line(d, g.unused(a.cur, amt), a.cur, a.bank, name, "", "")
		g.s.Truth.Payouts[id] = nil
	})
}

// unused returns amt, moved by a cent at a time until no payout has it.
func (g *gen) unused(cur string, amt int64) int64 {
	for g.amounts[cur+strconv.FormatInt(amt, 10)] {
		amt++
	}
	return amt
}

func (g *gen) unrelated(arr recon.Date) {
	amt := g.between(1000, 500000)
	if len(g.recent) > 0 && g.r.Float64() < g.cfg.UnrelatedEqualRate {
		src := g.recent[len(g.recent)-1-g.r.IntN(min(8, len(g.recent)))]
		if src.Amount > 0 && src.Currency == "USD" {
			amt = src.Amount
		}
	}
	// Unrelated deposits say who they are from, as real ones do (an ACH
	// originator Plaid enriches as a merchant, a check, Zelle, a transfer).
	name := pick(g.r, "ACH CREDIT ACME CORP", "MOBILE CHECK DEPOSIT", "TRANSFER FROM SAVINGS", "ZELLE FROM J SMITH")
	g.line(arr.AddDays(g.r.IntN(2)), amt, "USD", "bank_usd", name, "", merchantOf[name])
}

// merchantOf is Plaid's merchant enrichment for the generated texts.
var merchantOf = map[string]string{
	"ACH CREDIT ACME CORP":       "Acme Corp",
	"CARD PURCHASE OFFICE DEPOT": "Office Depot",
	"AWS SERVICES":               "Amazon Web Services",
	"PAYROLL ADP":                "ADP",
}

// line records a posted bank line (through the feed when configured) and returns its ID.
func (g *gen) line(d recon.Date, amt int64, cur, bank, name, desc, merchant string) string {
	id := g.id("txn_")
	l := recon.BankLine{ID: id, AccountID: bank, Amount: amt, Currency: cur, Date: d, Name: name, OriginalDescription: desc,
		MerchantName: merchant, PaymentChannel: "other"}
	if !g.cfg.Feed {
		g.s.Lines = append(g.s.Lines, l)
		return id
	}
	t := toPlaid(l)
	switch x := g.r.Float64(); {
	case x < g.cfg.PendingRate:
		pend := toPlaid(l)
		pend.TransactionID, pend.Pending = "pend_"+id, true
		pend.Date = g.cal.AddBusinessDays(d, -1).String()
		g.adds = append(g.adds, pend)
		ref := pend.TransactionID
		t.PendingTransactionID = &ref
		g.later = append(g.later, t)
	case x < g.cfg.PendingRate+g.cfg.ModifiedRate:
		early := t
		early.Name, early.OriginalDescription = "PENDING CREDIT", nil
		g.adds = append(g.adds, early)
		g.later = append(g.later, t)
	default:
		g.adds = append(g.adds, t)
	}
	if g.r.Float64() < g.cfg.RemovedRate {
		dup := toPlaid(l)
		dup.TransactionID = "dup_" + id
		g.adds = append(g.adds, dup)
		g.removes = append(g.removes, recon.PlaidRemoved{TransactionID: dup.TransactionID})
	}
	return id
}

// toPlaid renders a line as Plaid would send it: sign flipped, decimal amount.
func toPlaid(l recon.BankLine) recon.PlaidTransaction {
	cur := l.Currency
	t := recon.PlaidTransaction{TransactionID: l.ID, AccountID: l.AccountID, Amount: json.Number(money.Format(-l.Amount, cur)),
		ISOCurrencyCode: &cur, Date: l.Date.String(), Name: l.Name, PaymentChannel: l.PaymentChannel}
	if l.OriginalDescription != "" {
		d := l.OriginalDescription
		t.OriginalDescription = &d
	}
	if l.MerchantName != "" {
		m := l.MerchantName
		t.MerchantName = &m
	}
	return t
}

// finishFeed splits the recorded operations into pages of at most 500, adds
// first and later changes after, and replays them through recon.Feed.
func (g *gen) finishFeed() error {
	if !g.cfg.Feed {
		return nil
	}
	const size = recon.MaxPageLines
	var pages []recon.SyncPage
	for i := 0; i < len(g.adds); i += size {
		pages = append(pages, recon.SyncPage{Added: g.adds[i:min(i+size, len(g.adds))]})
	}
	// Later pages: posted replacements come as "added" (Plaid sends a new
	// transaction), text changes as "modified"; duplicates are removed.
	var later []recon.PlaidTransaction
	var mods []recon.PlaidTransaction
	for _, t := range g.later {
		if t.PendingTransactionID != nil {
			later = append(later, t)
		} else {
			mods = append(mods, t)
		}
	}
	// A page holds at most recon.MaxPageLines transactions in all, so each kind
	// gets its own pages, in the order Plaid applies them.
	for i := 0; i < len(later); i += size {
		pages = append(pages, recon.SyncPage{Added: later[i:min(i+size, len(later))]})
	}
	for i := 0; i < len(mods); i += size {
		pages = append(pages, recon.SyncPage{Modified: mods[i:min(i+size, len(mods))]})
	}
	for i := 0; i < len(g.removes); i += size {
		pages = append(pages, recon.SyncPage{Removed: g.removes[i:min(i+size, len(g.removes))]})
	}
	for i := range pages {
		pages[i].NextCursor = fmt.Sprintf("cursor-%d", i+1)
		pages[i].HasMore = i+1 < len(pages)
	}
	g.s.Pages = pages
	f := recon.NewFeed()
	for i, p := range pages {
		ch, err := recon.NormalizePage(p)
		if err != nil {
			return fmt.Errorf("reconsim: page %d: %w", i, err)
		}
		f.Apply(ch)
	}
	g.s.Lines = f.Posted()
	return nil
}
