// Package qualpayrecon explains Qualpay deposits: which settled transactions,
// statement settlement lines and statement fees make up each ACH deposit, in
// which currency, and whether they add up exactly. It is pure logic over the
// reporting rows the puller fetched (shared/webhooks/qualpay_pull.go).
//
// The link (Qualpay's OpenAPI, specs/qualpay-openapi.yaml):
//   - SettledTransactionRequest.reference_number (string, up to 23 chars) is
//     "the bank reference number of the deposit";
//   - DepositData.reference_number (string, up to 16 digits) is described the same way;
//   - StatementSettlementData.reference_number (integer, 11 digits) "is used as
//     the deposit reference number".
//
// The three types differ, so every reference is normalised (NormaliseRef)
// before comparing, and the sum is always checked against amt_ach.
//
// Where no row carries the deposit's reference, the deposit falls back to the
// merchant's unclaimed batches settled in the FallbackDays business days
// before post_date_actual: the one set whose nets sum exactly to amt_ach. Two
// sets that both fit are never guessed between (IssueAmbiguous). A negative
// deposit may instead be the monthly fee debit: the statement fees due for the
// previous billing month, less fees already paid (StatementFeeData).
package qualpayrecon

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// Methods: how a deposit's items were found.
const (
	MethodReference   = "reference"    // rows carrying the deposit's reference_number
	MethodBatches     = "batches"      // the one exact set of batches before post_date_actual
	MethodMonthlyFees = "monthly_fees" // the statement fees of the billing month
)

// Issues: why a deposit is not explained. The reconciler reports each as an
// exception (ambiguous for IssueAmbiguous, itemisation_incomplete otherwise).
const (
	IssueDifference = "difference"        // items found, but their nets differ from amt_ach
	IssueAmbiguous  = "ambiguous"         // two or more sets of batches fit exactly (= recon.ReasonAmbiguous)
	IssueCurrency   = "currency_mismatch" // items in more than one funded currency
	IssueNoCurrency = "currency_unknown"  // no item names a currency, and the merchant's is unknown
	IssueNoItems    = "no_items"          // nothing links to the deposit and no exact set exists
	IssueBadData    = "bad_data"          // an amount or date Qualpay sent could not be read
)

// Config bounds the fallback search.
type Config struct {
	// FallbackDays is how many business days (Mon–Fri) before post_date_actual
	// a batch may have settled to be part of a deposit found by sum: Qualpay
	// funds a batch one to two business days after it settles, and batches of
	// a weekend are funded together on the next business day; five covers a
	// late posting with margin. Default 5.
	FallbackDays int
	// MaxBatches is the most candidate batches searched for one deposit (the
	// nearest to the post date); more makes the deposit IssueNoItems with a
	// note rather than an unbounded search. Default 20.
	MaxBatches int
	// MaxSetSize and Budget bound the subset search (Subsets). Defaults 8, 20000.
	MaxSetSize, Budget int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{FallbackDays: 5, MaxBatches: 20, MaxSetSize: 8, Budget: 20000}
}

// Reports are a merchant's reporting rows for a window: the deposits to
// explain and every row that may explain them.
type Reports struct {
	MerchantID   int64
	Deposits     []qualpay.Deposit
	Transactions []qualpay.SettledTransaction
	Settlements  []qualpay.SettlementRecord
	Fees         []qualpay.StatementFee
	// Currency is the merchant's funding currency when known from outside
	// these rows (an earlier pull); used only for deposits without a
	// transaction (fee-only deposits). Never assumed.
	Currency string
}

// Result is one deposit explained (or not).
type Result struct {
	Deposit  qualpay.Deposit
	Amount   int64  // amt_ach in minor units of Currency (0 when Currency is unknown)
	Currency string // ISO 4217 alphabetic, "" when unknown
	Method   string
	Items    []payouts.Item
	Issue    string // "" when Items sum exactly to Amount
	Note     string // what a person needs to act on the issue
	// Purchases maps an item's SourceID (pg_id) to its transaction's
	// purchase_id, for invoice linking.
	Purchases map[string]string
}

// NormaliseRef makes the three reference_number forms comparable: surrounding
// space and leading zeros dropped ("00012345678" = 12345678 = "12345678");
// a reference with no digit other than zero is no reference.
func NormaliseRef(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimLeft(s, "0")
	return s
}

func refOfInt(n int64) string {
	if n <= 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// batch is the fallback's unit: one settled batch, its transactions and its
// statement settlement line (matched by date and amounts when it has no reference).
type batch struct {
	key     string
	date    string
	txns    []qualpay.SettledTransaction
	set     *qualpay.SettlementRecord
	claimed bool
}

// Itemise explains every deposit of r, in post date order (then rec_id).
func Itemise(r Reports, cfg Config) []Result {
	if cfg.FallbackDays <= 0 {
		cfg.FallbackDays = 5
	}
	if cfg.MaxBatches <= 0 {
		cfg.MaxBatches = 20
	}
	if cfg.MaxSetSize <= 0 {
		cfg.MaxSetSize = 8
	}
	if cfg.Budget <= 0 {
		cfg.Budget = 20000
	}
	deps := slices.Clone(r.Deposits)
	slices.SortStableFunc(deps, func(a, b qualpay.Deposit) int {
		if c := strings.Compare(dateOnly(a.PostDateActual), dateOnly(b.PostDateActual)); c != 0 {
			return c
		}
		return cmp.Compare(a.RecID, b.RecID)
	})
	depRefs := map[string]bool{}
	refDeposits := map[string]int{} // deposits per reference: rows of a shared one are never given to both
	for _, d := range deps {
		if ref := NormaliseRef(d.ReferenceNumber); ref != "" {
			depRefs[ref] = true
			refDeposits[ref]++
		}
	}
	txByRef := map[string][]qualpay.SettledTransaction{}
	setByRef := map[string][]qualpay.SettlementRecord{}
	batches, order := map[string]*batch{}, []string{}
	for _, t := range r.Transactions {
		// A row with a reference belongs to that deposit, in this window or
		// not: only rows without one are candidates for the fallback.
		if ref := NormaliseRef(t.ReferenceNumber); ref != "" {
			if depRefs[ref] {
				txByRef[ref] = append(txByRef[ref], t)
			}
			continue
		}
		k := batchKey(t)
		b := batches[k]
		if b == nil {
			b = &batch{key: k, date: dateOnly(t.BatchDate)}
			batches[k] = b
			order = append(order, k)
		}
		b.txns = append(b.txns, t)
	}
	var loose []qualpay.SettlementRecord
	for _, s := range r.Settlements {
		if ref := refOfInt(s.ReferenceNumber); ref != "" {
			if depRefs[ref] {
				setByRef[ref] = append(setByRef[ref], s)
			}
			continue
		}
		loose = append(loose, s)
	}
	slices.SortFunc(order, func(a, b string) int {
		if c := strings.Compare(batches[a].date, batches[b].date); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	pairSettlements(batches, order, loose)
	merchantCur := r.Currency
	if c := usualCurrency(r.Transactions); c != "" {
		merchantCur = c
	}

	purchases := map[string]string{}
	for _, t := range r.Transactions {
		if id := strings.TrimSpace(t.PurchaseID); id != "" && t.PgID != "" {
			purchases[t.PgID] = id
		}
	}
	out := make([]Result, 0, len(deps))
	feesClaimed := map[string]bool{} // billing months whose fee debit is itemised
	for _, d := range deps {
		ref := NormaliseRef(d.ReferenceNumber)
		var res Result
		switch {
		case ref != "" && refDeposits[ref] > 1 && (len(txByRef[ref]) > 0 || len(setByRef[ref]) > 0):
			// Each would take every row of the reference: the same sales in
			// two payouts. Which rows belong to which is not guessed.
			res, _ = start(d, MethodReference, merchantCur)
			res.Issue, res.Note = IssueAmbiguous, fmt.Sprintf("%d deposits carry reference %q; its rows are not given to any of them", refDeposits[ref], d.ReferenceNumber)
		case ref != "" && (len(txByRef[ref]) > 0 || len(setByRef[ref]) > 0):
			res = byReference(d, txByRef[ref], setByRef[ref], merchantCur)
		default:
			res = byFallback(d, batches, order, r.Fees, feesClaimed, merchantCur, cfg)
		}
		for _, it := range res.Items {
			if id := purchases[it.SourceID]; id != "" {
				if res.Purchases == nil {
					res.Purchases = map[string]string{}
				}
				res.Purchases[it.SourceID] = id
			}
		}
		out = append(out, res)
	}
	return out
}

func batchKey(t qualpay.SettledTransaction) string {
	if t.BatchID != 0 {
		return "b" + strconv.FormatInt(t.BatchID, 10)
	}
	return "d" + dateOnly(t.BatchDate) + "#" + strconv.FormatInt(t.BatchNumber, 10)
}

// pairSettlements gives each batch without a reference its statement line:
// same batch date, same purchases and returns. Lines are taken in order, so
// two identical batches on one day each get one.
func pairSettlements(batches map[string]*batch, order []string, loose []qualpay.SettlementRecord) {
	used := make([]bool, len(loose))
	for _, k := range order {
		b := batches[k]
		cur, _, _ := currencyOf(b.txns)
		if cur == "" {
			continue
		}
		var purch, ret int64
		for _, t := range b.txns {
			v, err := t.AmtTran.Minor(cur)
			if err != nil {
				continue
			}
			if v >= 0 {
				purch += v
			} else {
				ret -= v
			}
		}
		for i := range loose {
			s := &loose[i]
			if used[i] || dateOnly(s.BatchDate) != b.date {
				continue
			}
			p, e1 := minorOr0(s.AmtPurch, cur)
			rt, e2 := minorOr0(s.AmtReturn, cur)
			if e1 == nil && e2 == nil && p == purch && abs(rt) == ret {
				used[i], b.set = true, s
				break
			}
		}
	}
}

func minorOr0(n qualpay.Number, cur string) (int64, error) {
	if n.IsZero() {
		return 0, nil
	}
	return n.Minor(cur)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// currencyOf is the one funded currency of txns ("" when none names one);
// disagree lists every currency when they differ.
func currencyOf(txns []qualpay.SettledTransaction) (cur string, disagree []string, err error) {
	seen := map[string]bool{}
	for _, t := range txns {
		if strings.TrimSpace(t.FundedCurrency) == "" {
			continue
		}
		c, e := qualpay.CurrencyFromNumeric(t.FundedCurrency)
		if e != nil {
			return "", nil, e
		}
		if !seen[c] {
			seen[c] = true
			disagree = append(disagree, c)
		}
	}
	slices.Sort(disagree)
	switch len(disagree) {
	case 0:
		return "", nil, nil
	case 1:
		return disagree[0], nil, nil
	}
	return "", disagree, nil
}

// usualCurrency is the funded currency most of txns carry (ties broken
// alphabetically, so the answer is deterministic); "" when none names one.
func usualCurrency(txns []qualpay.SettledTransaction) string {
	n := map[string]int{}
	best := ""
	for _, t := range txns {
		c, err := qualpay.CurrencyFromNumeric(t.FundedCurrency)
		if err != nil || strings.TrimSpace(t.FundedCurrency) == "" {
			continue
		}
		n[c]++
		if best == "" || n[c] > n[best] || n[c] == n[best] && c < best {
			best = c
		}
	}
	return best
}

// start fills the deposit's amount once its currency is known.
func start(d qualpay.Deposit, method, cur string) (Result, bool) {
	res := Result{Deposit: d, Method: method, Currency: cur}
	if cur == "" {
		res.Issue, res.Note = IssueNoCurrency, "no settled transaction names this deposit's funded_currency and the merchant's currency is not known yet; never assumed"
		return res, false
	}
	amt, err := d.AmtACH.Minor(cur)
	if err != nil {
		res.Issue, res.Note = IssueBadData, fmt.Sprintf("amt_ach %q is not an amount in %s", d.AmtACH.String(), cur)
		return res, false
	}
	res.Amount = amt
	return res, true
}

// byReference itemises a deposit by the rows carrying its reference.
func byReference(d qualpay.Deposit, txns []qualpay.SettledTransaction, sets []qualpay.SettlementRecord, merchantCur string) Result {
	cur, disagree, err := currencyOf(txns)
	if err != nil {
		return Result{Deposit: d, Method: MethodReference, Issue: IssueBadData, Note: err.Error()}
	}
	if len(disagree) > 1 {
		// Reported in the merchant's usual currency when it has one, so the
		// exception carries the amount; no item is converted.
		res, _ := start(d, MethodReference, merchantCur)
		res.Issue, res.Note = IssueCurrency, "its transactions were funded in "+strings.Join(disagree, " and ")+"; a deposit has one currency"
		return res
	}
	if cur == "" && len(txns) == 0 {
		cur = merchantCur
	}
	res, ok := start(d, MethodReference, cur)
	if !ok {
		return res
	}
	items, err := transactionItems(txns, cur)
	if err == nil {
		var more []payouts.Item
		more, err = settlementItems(sets, cur, len(txns) == 0)
		items = append(items, more...)
	}
	if err != nil {
		res.Issue, res.Note = IssueBadData, err.Error()
		return res
	}
	res.Items = items
	return check(res)
}

// check compares the items' nets with the deposit and explains a difference.
func check(res Result) Result {
	if sum := payouts.SumNet(res.Items); sum != res.Amount {
		res.Issue = IssueDifference
		res.Note = fmt.Sprintf("its items (%s) sum to %s but the deposit is %s: difference %s",
			res.Method, fmtMoney(sum, res.Currency), fmtMoney(res.Amount, res.Currency), fmtMoney(res.Amount-sum, res.Currency))
	}
	return res
}

func fmtMoney(v int64, cur string) string { return money.Format(v, cur) + " " + cur }

// transactionItems: one item per settled transaction. Gross is amt_tran when
// it was taken in the funded currency (else amt_funded), net is amt_funded;
// negative amounts are refunds (or chargebacks when Qualpay marks them).
func transactionItems(txns []qualpay.SettledTransaction, cur string) ([]payouts.Item, error) {
	txns = slices.Clone(txns)
	slices.SortStableFunc(txns, func(a, b qualpay.SettledTransaction) int {
		if c := strings.Compare(dateOnly(a.BatchDate), dateOnly(b.BatchDate)); c != 0 {
			return c
		}
		return cmp.Compare(a.RecID, b.RecID)
	})
	items := make([]payouts.Item, 0, len(txns))
	for _, t := range txns {
		net, err := t.AmtFunded.Minor(cur)
		if t.AmtFunded.IsZero() {
			net, err = t.AmtTran.Minor(cur)
		}
		if err != nil {
			return nil, fmt.Errorf("transaction %s: %w", firstNonEmpty(t.PgID, strconv.FormatInt(t.RecID, 10)), err)
		}
		gross := net
		if tc, e := qualpay.CurrencyFromNumeric(t.TranCurrency); e == nil && tc == cur && !t.AmtTran.IsZero() {
			if g, e := t.AmtTran.Minor(cur); e == nil {
				gross = g
			}
		}
		typ := payouts.ItemCharge
		if gross < 0 {
			typ = payouts.ItemRefund
		}
		var created int64
		if td, err := qualpay.ParseDate(t.TranDate); err == nil {
			created = td.Unix()
		}
		items = append(items, payouts.Item{
			SourceID: firstNonEmpty(t.PgID, "qptxn_"+strconv.FormatInt(t.RecID, 10)), Type: typ, Amount: gross, Fee: gross - net, Net: net,
			Currency: cur, PaymentID: t.PgID, Description: strings.TrimSpace(firstNonEmpty(t.PurchaseID, t.MerchRefNum)), Created: created,
		})
	}
	return items, nil
}

// settlementItems: the discount each settlement line deducted (discount_paid)
// is a fee item. When no transaction is known (summary only), the line's
// purchases and returns become items too, so amt_net is explained by the line.
func settlementItems(sets []qualpay.SettlementRecord, cur string, summary bool) ([]payouts.Item, error) {
	var items []payouts.Item
	for _, s := range sets {
		id := "qpset_" + firstNonEmpty(refOfInt(s.RecIDLinked), refOfInt(s.SourceID), dateOnly(s.BatchDate)) + "_" + refOfInt(s.ReferenceNumber)
		var created int64
		if bd, err := qualpay.ParseDate(s.BatchDate); err == nil {
			created = bd.Unix()
		}
		disc, err := minorOr0(s.DiscountPaid, cur)
		if err != nil {
			return nil, fmt.Errorf("settlement %s discount_paid: %w", id, err)
		}
		if summary {
			purch, err := minorOr0(s.AmtPurch, cur)
			if err != nil {
				return nil, fmt.Errorf("settlement %s amt_purch: %w", id, err)
			}
			ret, err := minorOr0(s.AmtReturn, cur)
			if err != nil {
				return nil, fmt.Errorf("settlement %s amt_return: %w", id, err)
			}
			if purch != 0 {
				items = append(items, payouts.Item{SourceID: id + "_purch", Type: payouts.ItemCharge, Amount: purch, Net: purch, Currency: cur, Description: "batch " + dateOnly(s.BatchDate) + " purchases", Created: created})
			}
			if ret != 0 {
				items = append(items, payouts.Item{SourceID: id + "_return", Type: payouts.ItemRefund, Amount: -abs(ret), Net: -abs(ret), Currency: cur, Description: "batch " + dateOnly(s.BatchDate) + " returns", Created: created})
			}
		}
		if disc != 0 {
			items = append(items, payouts.Item{SourceID: id + "_discount", Type: payouts.ItemFee, Fee: abs(disc), Net: -abs(disc), Currency: cur,
				Description: "discount " + dateOnly(s.BatchDate), Created: created})
		}
	}
	return items, nil
}

func (b *batch) items(cur string) ([]payouts.Item, error) {
	items, err := transactionItems(b.txns, cur)
	if err != nil {
		return nil, err
	}
	if b.set != nil {
		more, err := settlementItems([]qualpay.SettlementRecord{*b.set}, cur, false)
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	return items, nil
}

// byFallback looks for the deposit's exact set of batches, and for a negative
// deposit also the monthly fee debit; one fit is used, two are ambiguous.
// feesClaimed holds the billing months already itemised as a fee debit: a
// month's fees are debited once, so a second negative deposit of the same
// amount is not explained by them again (that would book the fees twice).
func byFallback(d qualpay.Deposit, batches map[string]*batch, order []string, fees []qualpay.StatementFee, feesClaimed map[string]bool, merchantCur string, cfg Config) Result {
	res, ok := start(d, MethodBatches, merchantCur)
	if !ok {
		return res
	}
	post, err := qualpay.ParseDate(d.PostDateActual)
	if err != nil {
		res.Issue, res.Note = IssueBadData, fmt.Sprintf("post_date_actual %q is not a date", d.PostDateActual)
		return res
	}
	from := addBusinessDays(post, -cfg.FallbackDays).Format(time.DateOnly)
	to := post.Format(time.DateOnly)
	var cands []*batch
	var nets []int64
	var itemsOf [][]payouts.Item
	for _, k := range order {
		b := batches[k]
		if b.claimed || b.date < from || b.date >= to {
			continue
		}
		if c, dis, _ := currencyOf(b.txns); c != res.Currency || len(dis) > 0 {
			continue
		}
		its, err := b.items(res.Currency)
		if err != nil {
			continue
		}
		cands, nets, itemsOf = append(cands, b), append(nets, payouts.SumNet(its)), append(itemsOf, its)
	}
	// Only the nearest MaxBatches to the post date are searched; the search
	// then counts as incomplete (like a spent budget): a set unique among
	// them may not be unique among all, and a deposit is never guessed.
	truncated := len(cands) > cfg.MaxBatches
	if truncated {
		drop := len(cands) - cfg.MaxBatches
		cands, nets, itemsOf = cands[drop:], nets[drop:], itemsOf[drop:]
	}
	sols, exhausted := Subsets(nets, res.Amount, cfg.MaxSetSize, cfg.Budget, 2)
	exhausted = exhausted || truncated
	if exhausted && len(sols) < 2 {
		// The search stopped on its budget: a set it found is not known to be
		// the only one, so it is never used (the matcher's rule for a block
		// whose search ran out of budget, shared/recon/batch.go).
		sols = nil
	}
	var feeItems []payouts.Item
	month := billingMonth(post)
	if res.Amount < 0 && !feesClaimed[month] {
		feeItems = monthlyFeeItems(fees, post, res.Currency)
	}
	feeFits := len(feeItems) > 0 && payouts.SumNet(feeItems) == res.Amount
	fits := len(sols)
	if feeFits {
		fits++
	}
	switch {
	case fits > 1:
		res.Issue = IssueAmbiguous
		res.Note = fmt.Sprintf("no row carries reference %q and more than one set of batches settled %s..%s (or the monthly fees) sums exactly to %s; not guessed",
			d.ReferenceNumber, from, to, fmtMoney(res.Amount, res.Currency))
		return res
	case exhausted:
		// Not even the monthly fees are used: an unseen set of batches may fit too.
	case feeFits:
		feesClaimed[month] = true
		res.Method, res.Items = MethodMonthlyFees, feeItems
		return res
	case fits == 1:
		for _, i := range sols[0] {
			cands[i].claimed = true
			res.Items = append(res.Items, itemsOf[i]...)
		}
		return res
	}
	res.Issue = IssueNoItems
	res.Note = fmt.Sprintf("no row carries reference %q and no set of the %d batches settled %s..%s sums exactly to %s",
		d.ReferenceNumber, len(cands), from, to, fmtMoney(res.Amount, res.Currency))
	if exhausted {
		res.Note = fmt.Sprintf("no row carries reference %q and the search of the batches settled %s..%s for %s was cut short (budget spent, or more than %d batches) before a set could be shown to be the only one; not guessed",
			d.ReferenceNumber, from, to, fmtMoney(res.Amount, res.Currency), cfg.MaxBatches)
	}
	return res
}

// monthlyFeeItems: Qualpay debits at the start of a month the fees of the
// previous billing month not already deducted daily: per StatementFeeData
// line, fees_total less fees_paid. One fee item per line with a balance.
func monthlyFeeItems(fees []qualpay.StatementFee, post time.Time, cur string) []payouts.Item {
	month := billingMonth(post)
	var items []payouts.Item
	for i, f := range fees {
		if !strings.HasPrefix(strings.TrimSpace(f.BillingMonth), month) {
			continue
		}
		total, e1 := minorOr0(f.FeesTotal, cur)
		paid, e2 := minorOr0(f.FeesPaid, cur)
		if e1 != nil || e2 != nil || total == paid {
			continue
		}
		items = append(items, payouts.Item{
			SourceID: fmt.Sprintf("qpfee_%s_%s_%d", month, strings.ReplaceAll(strings.ToLower(f.FeeCategory), " ", "_"), i),
			Type:     payouts.ItemFee, Fee: total - paid, Net: paid - total, Currency: cur,
			Description: strings.TrimSpace(firstNonEmpty(f.Description, f.FeeCategory)) + " " + month,
			Created:     post.Unix(),
		})
	}
	return items
}

// billingMonth is the billing month (YYYY-MM) whose fees a debit posted on
// post pays: the month before.
func billingMonth(post time.Time) string {
	return time.Date(post.Year(), post.Month()-1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
}

// addBusinessDays moves n business days (Mon–Fri) from t; n may be negative.
func addBusinessDays(t time.Time, n int) time.Time {
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		t = t.AddDate(0, 0, step)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// AddBusinessDays is addBusinessDays for the puller's windows.
func AddBusinessDays(t time.Time, n int) time.Time { return addBusinessDays(t, n) }

func dateOnly(s string) string {
	if t, err := qualpay.ParseDate(s); err == nil {
		return t.Format(time.DateOnly)
	}
	return strings.TrimSpace(s)
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}

// PayoutID is the payout ID of a Qualpay deposit.
func PayoutID(merchant string, recID int64) string {
	return "qp_" + merchant + "_" + strconv.FormatInt(recID, 10)
}

// Payout is the payout record of an explained deposit (items not attached);
// ok is false when the deposit cannot be recorded yet (its currency, and so
// its amount, is unknown, or its post date is unreadable).
func Payout(res Result, partnerID, companyID, merchant string) (payouts.Payout, bool) {
	post, err := qualpay.ParseDate(res.Deposit.PostDateActual)
	if res.Currency == "" || err != nil {
		return payouts.Payout{}, false
	}
	return payouts.Payout{
		PartnerID: partnerID, CompanyID: companyID, ID: PayoutID(merchant, res.Deposit.RecID), Provider: payouts.Qualpay, AccountID: merchant,
		Amount: res.Amount, Currency: res.Currency, Status: payouts.StatusPaid, Automatic: true, ArrivalDate: post.Format(time.DateOnly),
		Descriptor: strings.TrimSpace(res.Deposit.ACHDescription), Reference: strings.TrimSpace(res.Deposit.ReferenceNumber),
		ProviderUpdated: post.Unix(), CreatedAt: post, ItemisationIssue: res.Issue, ItemisationNote: res.Note,
	}, true
}
