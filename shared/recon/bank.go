package recon

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/payrecon/payrecon/shared/money"
)

// BankLine is one line of a company's bank feed, normalised from Plaid.
//
// Sign convention: Amount is positive for money IN (a deposit) and negative for
// money OUT. Plaid uses the opposite sign; FromPlaid is the only place that flips it.
type BankLine struct {
	ID                   string   `json:"id"`
	AccountID            string   `json:"account_id"`
	Amount               int64    `json:"amount"` // minor units, + = money in
	Currency             string   `json:"currency"`
	Date                 Date     `json:"date"` // posting date (calendar date)
	AuthorizedDate       Date     `json:"authorized_date,omitzero"`
	Name                 string   `json:"name,omitempty"`
	MerchantName         string   `json:"merchant_name,omitempty"`
	OriginalDescription  string   `json:"original_description,omitempty"`
	Counterparties       []string `json:"counterparties,omitempty"` // counterparty names
	Pending              bool     `json:"pending"`
	PendingTransactionID string   `json:"pending_transaction_id,omitempty"`
	PaymentChannel       string   `json:"payment_channel,omitempty"`
}

// PlaidTransaction is the part of a Plaid transaction object payrecon reads.
// Amount stays a json.Number so it is converted exactly (never through float64).
type PlaidTransaction struct {
	TransactionID          string              `json:"transaction_id"`
	AccountID              string              `json:"account_id"`
	Amount                 json.Number         `json:"amount"`
	ISOCurrencyCode        *string             `json:"iso_currency_code"`
	UnofficialCurrencyCode *string             `json:"unofficial_currency_code"`
	Date                   string              `json:"date"`
	AuthorizedDate         *string             `json:"authorized_date"`
	Name                   string              `json:"name"`
	MerchantName           *string             `json:"merchant_name"`
	OriginalDescription    *string             `json:"original_description"`
	Pending                bool                `json:"pending"`
	PendingTransactionID   *string             `json:"pending_transaction_id"`
	PaymentChannel         string              `json:"payment_channel"`
	Counterparties         []PlaidCounterparty `json:"counterparties"`
}

// PlaidCounterparty is one entry of a Plaid transaction's counterparties.
type PlaidCounterparty struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// PlaidRemoved is one entry of a sync page's "removed" list.
type PlaidRemoved struct {
	TransactionID string `json:"transaction_id"`
	AccountID     string `json:"account_id,omitempty"`
}

// PlaidAccount is the part of a Plaid account payrecon keeps.
type PlaidAccount struct {
	AccountID string `json:"account_id"`
	Name      string `json:"name"`
	Mask      string `json:"mask"`
	Type      string `json:"type"`
	Subtype   string `json:"subtype"`
	Balances  struct {
		ISOCurrencyCode *string `json:"iso_currency_code"`
	} `json:"balances"`
}

// SyncPage is one page of a Plaid /transactions/sync response.
type SyncPage struct {
	Added      []PlaidTransaction `json:"added"`
	Modified   []PlaidTransaction `json:"modified"`
	Removed    []PlaidRemoved     `json:"removed"`
	NextCursor string             `json:"next_cursor"`
	HasMore    bool               `json:"has_more"`
	Accounts   []PlaidAccount     `json:"accounts"`
}

// FieldError names the field of a bad input (relative to the object checked), so
// the HTTP edge can answer 422 with "added[3].amount".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Limits on free text so one line cannot bloat storage.
const (
	maxIDLen   = 128
	maxTextLen = 512
)

// FromPlaid converts a Plaid transaction to a BankLine: exact decimal amount in
// the currency's minor units, sign flipped to "positive = money in", dates parsed.
func FromPlaid(t PlaidTransaction) (BankLine, error) {
	bad := func(field string, err error) (BankLine, error) {
		return BankLine{}, &FieldError{Field: field, Err: err}
	}
	if t.TransactionID == "" || len(t.TransactionID) > maxIDLen {
		return bad("transaction_id", errors.New("required, at most 128 characters"))
	}
	if t.AccountID == "" || len(t.AccountID) > maxIDLen {
		return bad("account_id", errors.New("required, at most 128 characters"))
	}
	cur := ""
	switch {
	case t.ISOCurrencyCode != nil && *t.ISOCurrencyCode != "":
		cur = *t.ISOCurrencyCode
	case t.UnofficialCurrencyCode != nil && *t.UnofficialCurrencyCode != "":
		// Crypto and other unofficial codes have no agreed exponent: refuse rather than guess.
		return bad("unofficial_currency_code", errors.New("unofficial currencies are not supported"))
	default:
		return bad("iso_currency_code", errors.New("required"))
	}
	cur, err := money.NormalizeCurrency(cur)
	if err != nil {
		return bad("iso_currency_code", err)
	}
	if t.Amount == "" {
		return bad("amount", errors.New("required"))
	}
	plaidMinor, err := money.ParseMinor(string(t.Amount), cur)
	if err != nil {
		return bad("amount", err)
	}
	if plaidMinor == -plaidMinor && plaidMinor != 0 { // MinInt64 cannot be negated
		return bad("amount", money.ErrRange)
	}
	date, err := ParseDate(t.Date)
	if err != nil {
		return bad("date", err)
	}
	var auth Date
	if t.AuthorizedDate != nil && *t.AuthorizedDate != "" {
		if auth, err = ParseDate(*t.AuthorizedDate); err != nil {
			return bad("authorized_date", err)
		}
	}
	l := BankLine{
		ID:             t.TransactionID,
		AccountID:      t.AccountID,
		Amount:         -plaidMinor, // Plaid: positive = money out. Ours: positive = money in.
		Currency:       cur,
		Date:           date,
		AuthorizedDate: auth,
		Name:           clip(t.Name),
		MerchantName:   clip(deref(t.MerchantName)),
		Pending:        t.Pending,
		PaymentChannel: clip(t.PaymentChannel),
	}
	l.OriginalDescription = clip(deref(t.OriginalDescription))
	if p := deref(t.PendingTransactionID); p != "" {
		if len(p) > maxIDLen {
			return bad("pending_transaction_id", errors.New("at most 128 characters"))
		}
		l.PendingTransactionID = p
	}
	for _, c := range t.Counterparties {
		if c.Name != "" && len(l.Counterparties) < 8 {
			l.Counterparties = append(l.Counterparties, clip(c.Name))
		}
	}
	return l, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func clip(s string) string {
	if len(s) > maxTextLen {
		s = s[:maxTextLen]
	}
	return strings.ToValidUTF8(s, "")
}

// Changes is a validated sync page, ready to apply.
type Changes struct {
	// Upserts are added and modified lines, in page order (added first).
	Upserts []BankLine
	// Removed are transaction IDs to delete (and to unmatch, if matched).
	Removed []string
	// Replaced are pending line IDs superseded by a posted line of this page
	// (Plaid's pending_transaction_id): delete them too.
	Replaced []string
	// Cursors are the page's next_cursor per account seen in it (Plaid cursors
	// are per Item; payrecon stores the cursor with each account of the page).
	NextCursor string
	Accounts   []PlaidAccount
}

// Bounds of a sync page. Plaid's /transactions/sync returns at most 500
// transactions a page (its count parameter, 1 to 500:
// https://plaid.com/docs/api/products/transactions/#transactionssync); an Item
// has a handful of accounts, 100 is generous; counterparties are a few.
const (
	MaxPageLines      = 500
	MaxPageAccounts   = 100
	MaxCounterparties = 50
)

// NormalizePage validates a whole page and converts every line. Any error names
// its field ("added[3].amount"); nothing is returned for a bad page, so callers
// never apply half of one.
func NormalizePage(p SyncPage) (Changes, error) {
	var ch Changes
	errs := map[string]string{}
	if n := len(p.Added) + len(p.Modified) + len(p.Removed); n > MaxPageLines {
		return Changes{}, &PageError{Fields: map[string]string{"added": fmt.Sprintf("a page holds at most %d transactions (added, modified and removed), got %d", MaxPageLines, n)}}
	}
	if len(p.Accounts) > MaxPageAccounts {
		return Changes{}, &PageError{Fields: map[string]string{"accounts": fmt.Sprintf("at most %d accounts, got %d", MaxPageAccounts, len(p.Accounts))}}
	}
	seen := make(map[string]string, len(p.Added)+len(p.Modified))
	conv := func(list string, ts []PlaidTransaction) {
		for i, t := range ts {
			if len(t.Counterparties) > MaxCounterparties {
				errs[fmt.Sprintf("%s[%d].counterparties", list, i)] = fmt.Sprintf("at most %d", MaxCounterparties)
				continue
			}
			l, err := FromPlaid(t)
			if err != nil {
				var fe *FieldError
				if errors.As(err, &fe) {
					errs[fmt.Sprintf("%s[%d].%s", list, i, fe.Field)] = fe.Err.Error()
				} else {
					errs[fmt.Sprintf("%s[%d]", list, i)] = err.Error()
				}
				continue
			}
			if prev, dup := seen[l.ID]; dup {
				errs[fmt.Sprintf("%s[%d].transaction_id", list, i)] = "appears twice in the page (also in " + prev + ")"
				continue
			}
			seen[l.ID] = fmt.Sprintf("%s[%d]", list, i)
			ch.Upserts = append(ch.Upserts, l)
			if !l.Pending && l.PendingTransactionID != "" {
				ch.Replaced = append(ch.Replaced, l.PendingTransactionID)
			}
		}
	}
	conv("added", p.Added)
	conv("modified", p.Modified)
	for i, r := range p.Removed {
		if r.TransactionID == "" || len(r.TransactionID) > maxIDLen {
			errs[fmt.Sprintf("removed[%d].transaction_id", i)] = "required, at most 128 characters"
			continue
		}
		if where, dup := seen[r.TransactionID]; dup {
			errs[fmt.Sprintf("removed[%d].transaction_id", i)] = "also added or modified in the same page (" + where + ")"
			continue
		}
		ch.Removed = append(ch.Removed, r.TransactionID)
	}
	if len(p.NextCursor) > 4096 {
		errs["next_cursor"] = "at most 4096 characters"
	}
	accts := make(map[string]bool, len(p.Accounts))
	for i, a := range p.Accounts {
		if a.AccountID == "" || len(a.AccountID) > maxIDLen {
			errs[fmt.Sprintf("accounts[%d].account_id", i)] = "required, at most 128 characters"
			continue
		}
		// Plaid lists each account once; a repeat is dropped (the first wins).
		if !accts[a.AccountID] {
			accts[a.AccountID] = true
			ch.Accounts = append(ch.Accounts, a)
		}
	}
	if len(errs) > 0 {
		return Changes{}, &PageError{Fields: errs}
	}
	slices.Sort(ch.Replaced)
	ch.Replaced = slices.Compact(ch.Replaced)
	ch.NextCursor = p.NextCursor
	return ch, nil
}

// PageError lists every bad field of a sync page.
type PageError struct {
	Fields map[string]string
}

func (e *PageError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("invalid sync page:")
	for i, k := range keys {
		if i == 3 {
			fmt.Fprintf(&b, " (and %d more)", len(keys)-3)
			break
		}
		b.WriteString(" " + k + ": " + e.Fields[k] + ";")
	}
	return b.String()
}

// Feed is an in-memory bank feed: the current lines by ID. It applies sync pages
// with Plaid's semantics and is what the generator and tests use; the bank-feed
// function applies the same Changes to the store.
type Feed struct {
	Lines map[string]BankLine
}

// NewFeed returns an empty feed.
func NewFeed() *Feed { return &Feed{Lines: map[string]BankLine{}} }

// Apply applies validated changes: upserts, then pending lines replaced by posted
// ones, then removals. It returns the IDs whose line changed or disappeared; a
// re-posted page changes nothing.
func (f *Feed) Apply(ch Changes) (changed, gone []string) {
	for _, l := range ch.Upserts {
		if old, ok := f.Lines[l.ID]; ok && sameLine(old, l) {
			continue
		}
		f.Lines[l.ID] = l
		changed = append(changed, l.ID)
	}
	for _, id := range ch.Replaced {
		if _, ok := f.Lines[id]; ok {
			delete(f.Lines, id)
			gone = append(gone, id)
		}
	}
	for _, id := range ch.Removed {
		if _, ok := f.Lines[id]; ok {
			delete(f.Lines, id)
			gone = append(gone, id)
		}
	}
	return changed, gone
}

// Posted returns the posted lines sorted by ID.
func (f *Feed) Posted() []BankLine {
	out := make([]BankLine, 0, len(f.Lines))
	for _, l := range f.Lines {
		if !l.Pending {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b BankLine) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func sameLine(a, b BankLine) bool {
	return a.ID == b.ID && a.AccountID == b.AccountID && a.Amount == b.Amount && a.Currency == b.Currency &&
		a.Date == b.Date && a.AuthorizedDate == b.AuthorizedDate && a.Name == b.Name && a.MerchantName == b.MerchantName &&
		a.OriginalDescription == b.OriginalDescription && slices.Equal(a.Counterparties, b.Counterparties) &&
		a.Pending == b.Pending && a.PendingTransactionID == b.PendingTransactionID && a.PaymentChannel == b.PaymentChannel
}

// SameLine reports whether two lines carry identical data (re-posted pages are no-ops).
func SameLine(a, b BankLine) bool { return sameLine(a, b) }
