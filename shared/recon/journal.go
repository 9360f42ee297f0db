package recon

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/payouts"
)

// Account keys of an AccountMap. Clearing accounts are per provider
// ("clearing.stripe"); a bank account may be overridden per Plaid account
// ("bank.<account_id>"), falling back to "bank".
const (
	AcctBank         = "bank"
	AcctReceivable   = "receivable"
	AcctFees         = "fees"
	AcctRefunds      = "refunds"
	AcctDisputes     = "disputes"
	AcctAdjustments  = "adjustments"
	AcctClimate      = "climate"
	AcctPlatformFees = "platform_fees"
	AcctOther        = "other"
	clearingPrefix   = "clearing."
	bankPrefix       = "bank."
)

// AccountMap names the ledger accounts entries post to, by key.
type AccountMap map[string]string

// DefaultAccounts is the chart a company starts with.
func DefaultAccounts() AccountMap {
	return AccountMap{
		clearingPrefix + payouts.Stripe:  "Stripe Clearing",
		clearingPrefix + payouts.Qualpay: "Qualpay Clearing",
		AcctBank:                         "Bank",
		AcctReceivable:                   "Accounts Receivable",
		AcctFees:                         "Merchant Fees",
		AcctRefunds:                      "Refunds",
		AcctDisputes:                     "Disputes",
		AcctAdjustments:                  "Processor Adjustments",
		AcctClimate:                      "Climate Contributions",
		AcctPlatformFees:                 "Platform Fees",
		AcctOther:                        "Other Processor Activity",
	}
}

// ValidateAccounts checks a company's overrides: known keys (or bank.<id> /
// clearing.<provider>), names 1..100 characters. It returns field errors by key.
func ValidateAccounts(overrides map[string]string) map[string]string {
	def := DefaultAccounts()
	errs := map[string]string{}
	for k, v := range overrides {
		_, known := def[k]
		if !known && !(strings.HasPrefix(k, bankPrefix) && len(k) > len(bankPrefix) && len(k) <= 140) &&
			!(strings.HasPrefix(k, clearingPrefix) && len(k) > len(clearingPrefix) && len(k) <= 40) {
			errs[k] = "unknown account key"
			continue
		}
		if n := strings.TrimSpace(v); n == "" || len(n) > 100 {
			errs[k] = "account name must be 1 to 100 characters"
		}
	}
	return errs
}

// WithOverrides returns the defaults with a company's overrides applied.
func WithOverrides(overrides map[string]string) (AccountMap, error) {
	if errs := ValidateAccounts(overrides); len(errs) > 0 {
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return nil, &FieldError{Field: "accounts." + keys[0], Err: errors.New(errs[keys[0]])}
	}
	m := DefaultAccounts()
	for k, v := range overrides {
		m[k] = strings.TrimSpace(v)
	}
	return m, nil
}

func (a AccountMap) name(key string) string {
	if n := a[key]; n != "" {
		return n
	}
	if n := DefaultAccounts()[key]; n != "" {
		return n
	}
	if p, ok := strings.CutPrefix(key, clearingPrefix); ok && p != "" {
		return strings.ToUpper(p[:1]) + p[1:] + " Clearing"
	}
	return key
}

// Clearing is the clearing account of a provider.
func (a AccountMap) Clearing(provider string) string { return a.name(clearingPrefix + provider) }

// Bank is the ledger account of a bank (Plaid) account.
func (a AccountMap) Bank(accountID string) string {
	if n := a[bankPrefix+accountID]; n != "" && accountID != "" {
		return n
	}
	return a.name(AcctBank)
}

// Entry kinds.
const (
	EntryPayments     = "payments"
	EntryFees         = "fees"
	EntryRefunds      = "refunds"
	EntryDisputes     = "disputes"
	EntryAdjustments  = "adjustments"
	EntryClimate      = "climate"
	EntryPlatformFees = "platform_fees"
	EntryOther        = "other"
	EntryDeposit      = "deposit"
	EntryReturn       = "return"
	EntryReversal     = "reversal"
)

// categoryOrder is the order entries are produced in.
var categoryOrder = []string{EntryPayments, EntryFees, EntryRefunds, EntryDisputes, EntryAdjustments, EntryClimate, EntryPlatformFees, EntryOther}

// Entry is one balanced journal entry in one currency: the debits equal the credits.
type Entry struct {
	Kind     string      `json:"kind"`
	Date     Date        `json:"date"`
	Currency string      `json:"currency"`
	PayoutID string      `json:"payout_id,omitempty"`
	Memo     string      `json:"memo"`
	Reverses string      `json:"reverses,omitempty"` // for reversal entries: the kind reversed
	Lines    []EntryLine `json:"lines"`
}

// EntryLine debits or credits one account (exactly one of Debit, Credit is non-zero).
type EntryLine struct {
	Account           string `json:"account"`
	Debit             int64  `json:"debit"`
	Credit            int64  `json:"credit"`
	PayoutID          string `json:"payout_id,omitempty"`
	SourceID          string `json:"source_id,omitempty"`
	PaymentID         string `json:"payment_id,omitempty"`
	InvoiceID         string `json:"invoice_id,omitempty"`
	BankTransactionID string `json:"bank_transaction_id,omitempty"`
	Memo              string `json:"memo,omitempty"`
}

// Posting is what a match books: its bank line(s) and its payouts with their items.
type Posting struct {
	Kind    string           // a Match kind
	Lines   []BankLine       // the deposit; for KindReturned, the deposit then its return
	Payouts []payouts.Payout // with Items
}

// Journal books a match. For single, batch and manual matches: per payout, one
// entry per category of its items (payments: clearing <- receivable; fees;
// refunds; disputes; adjustments; climate; platform fees; other), then one
// deposit entry (bank <- clearing). For a returned match: the deposit and its
// return, which cancel out. Every entry balances; errors mean the inputs do not
// add up and nothing should be written.
//
// Payout-failure items (a failed payout's funds coming back inside a later
// payout) book nothing here: they are a movement inside the clearing account,
// whose other side is the failed payout's own items, booked when it failed
// (JournalFailedPayout).
func Journal(p Posting, accts AccountMap) ([]Entry, error) {
	if accts == nil {
		accts = DefaultAccounts()
	}
	switch p.Kind {
	case KindReturned:
		return journalReturned(p, accts)
	case KindSingle, KindBatch, KindManual:
	default:
		return nil, fmt.Errorf("journal: unknown match kind %q", p.Kind)
	}
	if len(p.Lines) != 1 {
		return nil, fmt.Errorf("journal: a %s match has exactly one bank line, got %d", p.Kind, len(p.Lines))
	}
	if len(p.Payouts) == 0 {
		return nil, errors.New("journal: no payouts")
	}
	dep := p.Lines[0]
	pays := make([]payouts.Payout, len(p.Payouts))
	for i, po := range p.Payouts {
		var err error
		if pays[i], err = inBankUnits(po); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(pays, func(a, b payouts.Payout) int { return strings.Compare(a.ID, b.ID) })
	var total int64
	for _, po := range pays {
		if po.Currency != dep.Currency {
			return nil, fmt.Errorf("journal: payout %s is in %s, the bank line in %s", po.ID, po.Currency, dep.Currency)
		}
		if err := checkItems(po); err != nil {
			return nil, err
		}
		total += po.Amount
	}
	if total != dep.Amount {
		return nil, fmt.Errorf("journal: payouts sum to %d but the bank line is %d", total, dep.Amount)
	}
	var out []Entry
	for _, po := range pays {
		out = append(out, itemEntries(po, dep.Date, accts)...)
	}
	d := Entry{Kind: EntryDeposit, Date: dep.Date, Currency: dep.Currency,
		Memo: fmt.Sprintf("Deposit %s of %s", dep.ID, amountText(dep.Amount, dep.Currency))}
	d.add(accts.Bank(dep.AccountID), dep.Amount, EntryLine{BankTransactionID: dep.ID})
	for _, po := range pays {
		d.add(accts.Clearing(po.Provider), -po.Amount, EntryLine{PayoutID: po.ID, BankTransactionID: dep.ID})
	}
	if len(pays) == 1 {
		d.PayoutID = pays[0].ID
	}
	out = append(out, d)
	return out, CheckBalanced(out)
}

// JournalFailedPayout books a failed payout's items into its clearing account
// (no bank leg): the funds went back to the processor balance and reach the bank
// inside a later payout, through its payout-failure item.
func JournalFailedPayout(po payouts.Payout, date Date, accts AccountMap) ([]Entry, error) {
	if accts == nil {
		accts = DefaultAccounts()
	}
	po, err := inBankUnits(po)
	if err != nil {
		return nil, err
	}
	if err := checkItems(po); err != nil {
		return nil, err
	}
	out := itemEntries(po, date, accts)
	return out, CheckBalanced(out)
}

// inBankUnits restates a payout and its items in ISO 4217 minor units, the
// bank feed's and the ledger's, as the matcher compares them (bankUnits): Stripe
// writes ISK and UGX with two decimals where ISO has none. An amount the bank
// cannot represent is an error, so nothing unbalanced is ever booked.
func inBankUnits(po payouts.Payout) (payouts.Payout, error) {
	if po.Provider != payouts.Stripe {
		return po, nil
	}
	se, err1 := money.Stripe.Exponent(po.Currency)
	ie, err2 := money.ISO.Exponent(po.Currency)
	if err1 != nil || err2 != nil || se == ie {
		return po, nil // same exponent (or a code ISO lacks: matched as it is)
	}
	conv := func(v int64) (int64, error) { return money.Rescale(v, po.Currency, money.Stripe, money.ISO) }
	amt, err := conv(po.Amount)
	if err != nil {
		return po, fmt.Errorf("journal: payout %s: %w", po.ID, err)
	}
	out := po
	out.Amount = amt
	out.Items = make([]payouts.Item, len(po.Items))
	for i, it := range po.Items {
		a, err1 := conv(it.Amount)
		f, err2 := conv(it.Fee)
		n, err3 := conv(it.Net)
		if err := errors.Join(err1, err2, err3); err != nil {
			return po, fmt.Errorf("journal: payout %s item %s: %w", po.ID, it.SourceID, err)
		}
		it.Amount, it.Fee, it.Net = a, f, n
		out.Items[i] = it
	}
	return out, nil
}

func checkItems(po payouts.Payout) error {
	if po.ItemisationStatus != payouts.ItemisationComplete || len(po.Items) == 0 {
		return fmt.Errorf("journal: payout %s is not itemised (%s)", po.ID, po.ItemisationStatus)
	}
	for _, it := range po.Items {
		if it.Currency != "" && it.Currency != po.Currency {
			return fmt.Errorf("journal: payout %s item %s is in %s, the payout in %s", po.ID, it.SourceID, it.Currency, po.Currency)
		}
		if it.Amount-it.Fee != it.Net {
			return fmt.Errorf("journal: payout %s item %s: amount - fee != net", po.ID, it.SourceID)
		}
	}
	if s := payouts.SumNet(po.Items); s != po.Amount {
		return fmt.Errorf("journal: payout %s items sum to %d, not %d", po.ID, s, po.Amount)
	}
	return nil
}

// itemEntries books a payout's items, one entry per category, each balanced
// against the provider's clearing account.
func itemEntries(po payouts.Payout, date Date, accts AccountMap) []Entry {
	clearing := accts.Clearing(po.Provider)
	byKind := map[string]*Entry{}
	get := func(kind string) *Entry {
		e := byKind[kind]
		if e == nil {
			e = &Entry{Kind: kind, Date: date, Currency: po.Currency, PayoutID: po.ID}
			byKind[kind] = e
		}
		return e
	}
	clear := map[string]int64{} // clearing side per entry, one aggregated line each
	var fees int64
	var feeItems int
	for _, it := range po.Items {
		ref := EntryLine{PayoutID: po.ID, SourceID: it.SourceID, PaymentID: it.PaymentID, InvoiceID: it.InvoiceID, Memo: it.Description}
		if it.Fee != 0 {
			fees += it.Fee
			feeItems++
		}
		var kind, acct string
		switch it.Type {
		case payouts.ItemCharge, payouts.ItemPayment:
			kind, acct = EntryPayments, AcctReceivable
		case payouts.ItemRefund:
			kind, acct = EntryRefunds, AcctRefunds
		case payouts.ItemDispute:
			kind, acct = EntryDisputes, AcctDisputes
		case payouts.ItemAdjustment:
			kind, acct = EntryAdjustments, AcctAdjustments
		case payouts.ItemFee:
			kind, acct = EntryFees, AcctFees
		case payouts.ItemClimate:
			kind, acct = EntryClimate, AcctClimate
		case payouts.ItemApplicationFee:
			kind, acct = EntryPlatformFees, AcctPlatformFees
		case payouts.ItemPayoutFailure:
			continue // see Journal: booked with the failed payout
		default:
			kind, acct = EntryOther, AcctOther
		}
		if it.Amount == 0 {
			continue
		}
		// The item's gross moves the processor balance (clearing) by +Amount;
		// the other side is the item's own account.
		get(kind).add(accts.name(acct), -it.Amount, ref)
		clear[kind] += it.Amount
	}
	if fees != 0 {
		get(EntryFees).add(accts.name(AcctFees), fees, EntryLine{PayoutID: po.ID, Memo: fmt.Sprintf("processing fees on %d item(s)", feeItems)})
		clear[EntryFees] -= fees
	}
	var out []Entry
	for _, kind := range categoryOrder {
		e := byKind[kind]
		if e == nil {
			continue
		}
		e.add(clearing, clear[kind], EntryLine{PayoutID: po.ID})
		if len(e.Lines) == 0 {
			continue
		}
		e.Memo = fmt.Sprintf("%s in payout %s", strings.ReplaceAll(kind, "_", " "), po.ID)
		// Debits first, then credits, for readable exports.
		slices.SortStableFunc(e.Lines, func(a, b EntryLine) int {
			return boolInt(a.Debit == 0) - boolInt(b.Debit == 0)
		})
		out = append(out, *e)
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// add posts a signed amount (positive = debit) to an account; zero adds nothing.
func (e *Entry) add(account string, signed int64, ref EntryLine) {
	if signed == 0 {
		return
	}
	ref.Account = account
	ref.Debit, ref.Credit = 0, 0
	if signed > 0 {
		ref.Debit = signed
	} else {
		ref.Credit = -signed
	}
	e.Lines = append(e.Lines, ref)
}

func journalReturned(p Posting, accts AccountMap) ([]Entry, error) {
	if len(p.Lines) != 2 || len(p.Payouts) != 1 {
		return nil, errors.New("journal: a returned match has a deposit, its return and one payout")
	}
	dep, ret, po := p.Lines[0], p.Lines[1], p.Payouts[0]
	if dep.Currency != po.Currency || ret.Currency != po.Currency || dep.Amount != po.Amount || ret.Amount != -po.Amount {
		return nil, fmt.Errorf("journal: returned payout %s: deposit %d and return %d do not mirror %d %s",
			po.ID, dep.Amount, ret.Amount, po.Amount, po.Currency)
	}
	clearing := accts.Clearing(po.Provider)
	d := Entry{Kind: EntryDeposit, Date: dep.Date, Currency: dep.Currency, PayoutID: po.ID,
		Memo: fmt.Sprintf("Deposit %s of failed payout %s", dep.ID, po.ID)}
	d.add(accts.Bank(dep.AccountID), dep.Amount, EntryLine{BankTransactionID: dep.ID})
	d.add(clearing, -dep.Amount, EntryLine{PayoutID: po.ID, BankTransactionID: dep.ID})
	r := Entry{Kind: EntryReturn, Date: ret.Date, Currency: ret.Currency, PayoutID: po.ID,
		Memo: fmt.Sprintf("Bank return %s of failed payout %s", ret.ID, po.ID)}
	r.add(accts.Bank(ret.AccountID), ret.Amount, EntryLine{BankTransactionID: ret.ID})
	r.add(clearing, -ret.Amount, EntryLine{PayoutID: po.ID, BankTransactionID: ret.ID})
	out := []Entry{d, r}
	return out, CheckBalanced(out)
}

// Reverse returns entries that undo the given ones (for an unmatch): same
// accounts and amounts with debits and credits swapped, dated date. Entries are
// never deleted; an unmatch adds these.
func Reverse(entries []Entry, date Date) []Entry {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		r := e
		r.Kind = EntryReversal
		r.Reverses = e.Kind
		r.Date = date
		r.Memo = "Reversal: " + e.Memo
		r.Lines = make([]EntryLine, len(e.Lines))
		for j, l := range e.Lines {
			l.Debit, l.Credit = l.Credit, l.Debit
			r.Lines[j] = l
		}
		out[i] = r
	}
	return out
}

// CheckBalanced verifies every entry: a currency, at least two lines, each line
// one-sided and non-negative, debits equal to credits.
func CheckBalanced(entries []Entry) error {
	for i, e := range entries {
		if len(e.Currency) != 3 {
			return fmt.Errorf("entry %d (%s): no currency", i, e.Kind)
		}
		if len(e.Lines) < 2 {
			return fmt.Errorf("entry %d (%s): fewer than two lines", i, e.Kind)
		}
		var dr, cr int64
		for _, l := range e.Lines {
			if l.Debit < 0 || l.Credit < 0 || (l.Debit != 0) == (l.Credit != 0) || l.Account == "" {
				return fmt.Errorf("entry %d (%s): bad line %+v", i, e.Kind, l)
			}
			dr += l.Debit
			cr += l.Credit
		}
		if dr != cr {
			return fmt.Errorf("entry %d (%s): debits %d != credits %d", i, e.Kind, dr, cr)
		}
	}
	return nil
}

// Balances sums debits minus credits per account over entries (one currency).
func Balances(entries []Entry) map[string]int64 {
	b := map[string]int64{}
	for _, e := range entries {
		for _, l := range e.Lines {
			b[l.Account] += l.Debit - l.Credit
		}
	}
	return b
}

// InvoiceIDs lists, sorted and unique, the invoices paid by a match's payouts
// (they move to reconciled once the match is written).
func InvoiceIDs(pays []payouts.Payout) []string {
	var ids []string
	for _, po := range pays {
		for _, it := range po.Items {
			if it.InvoiceID != "" && (it.Type == payouts.ItemCharge || it.Type == payouts.ItemPayment) {
				ids = append(ids, it.InvoiceID)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
