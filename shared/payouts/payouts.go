// Package payouts holds the records reconciliation runs on: a processor payout
// (a Stripe payout or a Qualpay deposit) and its itemisation (the balance
// transactions inside it). Webhooks and pulls write them; the matcher reads them.
package payouts

import "time"

// Providers.
const (
	Stripe  = "stripe"
	Qualpay = "qualpay"
)

// Payout statuses, in the order they may advance (never regress; see Rank).
const (
	StatusPending   = "pending"
	StatusInTransit = "in_transit"
	StatusPaid      = "paid"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// Rank orders statuses so out-of-order events never move a payout backwards.
// paid, failed and canceled are final; failed outranks paid because Stripe can
// report a paid payout as failed later (the bank returned it).
func Rank(status string) int {
	switch status {
	case StatusPending:
		return 1
	case StatusInTransit:
		return 2
	case StatusPaid:
		return 3
	case StatusCanceled:
		return 4
	case StatusFailed:
		return 5
	}
	return 0
}

// Itemisation states.
const (
	ItemisationPending    = "pending"    // not fetched yet
	ItemisationComplete   = "complete"   // item nets sum exactly to Amount
	ItemisationIncomplete = "incomplete" // fetched, but nets do not sum to Amount: an exception
)

// Item types: the Stripe balance transaction `type` / `reporting_category` vocabulary,
// also used for Qualpay lines.
const (
	ItemCharge         = "charge"          // card or other payment, gross in Amount, fee in Fee
	ItemPayment        = "payment"         // non-card payment (ACH debit etc.)
	ItemRefund         = "refund"          // negative
	ItemDispute        = "dispute"         // negative (or positive when won)
	ItemAdjustment     = "adjustment"      // other adjustments
	ItemFee            = "fee"             // standalone processor fee line (stripe_fee, Qualpay fees)
	ItemClimate        = "climate"         // Stripe Climate contribution
	ItemApplicationFee = "application_fee" // platform fee taken by the partner
	ItemPayoutFailure  = "payout_failure"  // reversal of a failed payout
	ItemOther          = "other"
)

// Payout is one transfer of net funds from a processor to the company's bank.
type Payout struct {
	PartnerID string `json:"-" dynamodbav:"partner_id"`
	CompanyID string `json:"company_id" dynamodbav:"company_id"`
	ID        string `json:"id" dynamodbav:"id"`                 // provider ID: po_… or Qualpay "qp_<merchant>_<rec_id>"
	Provider  string `json:"provider" dynamodbav:"provider"`     // stripe | qualpay
	AccountID string `json:"account_id" dynamodbav:"account_id"` // acct_… or Qualpay merchant ID
	Amount    int64  `json:"amount" dynamodbav:"amount"`         // net to the bank, minor units; negative = debit
	Currency  string `json:"currency" dynamodbav:"currency"`     // ISO 4217 upper-case
	Status    string `json:"status" dynamodbav:"status"`
	Automatic bool   `json:"automatic" dynamodbav:"automatic"`
	// ArrivalDate is the calendar date the provider expects funds at the bank (YYYY-MM-DD).
	ArrivalDate string `json:"arrival_date" dynamodbav:"arrival_date"`
	// Descriptor is what the bank line is expected to show (statement descriptor, ach_description).
	Descriptor string `json:"descriptor,omitempty" dynamodbav:"descriptor,omitempty"`
	// Reference is a trace/reference number when the provider gives one.
	Reference         string `json:"reference,omitempty" dynamodbav:"reference,omitempty"`
	ItemisationStatus string `json:"itemisation_status" dynamodbav:"itemisation_status"`
	ItemCount         int    `json:"item_count" dynamodbav:"item_count"`
	// ItemisationIssue and ItemisationNote say why an itemisation is not
	// complete when the provider's data allows more than "does not add up"
	// (a Qualpay deposit two sets of batches fit: "ambiguous"; its items in
	// two currencies; the difference). Set by SetItems; empty when complete.
	ItemisationIssue string `json:"itemisation_issue,omitempty" dynamodbav:"itemisation_issue,omitempty"`
	ItemisationNote  string `json:"itemisation_note,omitempty" dynamodbav:"itemisation_note,omitempty"`
	FailureCode      string `json:"failure_code,omitempty" dynamodbav:"failure_code,omitempty"`
	// ReversalID is the provider's reversal of a failed payout (Stripe's
	// failure_balance_transaction, txn_…): the funds coming back to the balance.
	ReversalID string    `json:"reversal_id,omitempty" dynamodbav:"reversal_id,omitempty"`
	CreatedAt  time.Time `json:"created_at" dynamodbav:"created_at"`
	UpdatedAt  time.Time `json:"updated_at" dynamodbav:"updated_at"`
	// ProviderUpdated is the provider-side timestamp of the last state applied (out-of-order guard).
	ProviderUpdated int64 `json:"-" dynamodbav:"provider_updated"`
	// Progress is the checkpoint of an itemisation under way (see Store.Checkpoint).
	Progress Progress `json:"-" dynamodbav:"itemise,omitempty"`
	// Totals are the itemisation's sums by item type (plus TotalsFees for the
	// items' fees), stored when it finishes, so a summary of a 20,000-item
	// payout is one read. Absent on payouts itemised before they were stored.
	Totals map[string]KindTotal `json:"-" dynamodbav:"totals,omitempty"`
	// Items is filled only where a caller loads them (reconciliation's journal);
	// the API lists items on their own paged route, never inline.
	Items []Item `json:"-" dynamodbav:"-"`
}

// KindTotal is how many items of one type a payout has and their amounts
// summed (gross for charges; for TotalsFees, minus the fees).
type KindTotal struct {
	Count  int   `json:"count" dynamodbav:"count"`
	Amount int64 `json:"amount" dynamodbav:"amount"`
}

// TotalsFees is the Totals key of the items' fees (as negative amounts), so
// the types' amounts plus it add up to the items' nets.
const TotalsFees = "fees"

// AddTotal counts one item into totals (see Payout.Totals).
func AddTotal(t map[string]KindTotal, it Item) {
	k := t[it.Type]
	k.Count++
	k.Amount += it.Amount
	t[it.Type] = k
	if it.Fee != 0 {
		f := t[TotalsFees]
		f.Count++
		f.Amount -= it.Fee
		t[TotalsFees] = f
	}
}

// Progress is how far an itemisation got: the provider's cursor of the last
// line written (Stripe's starting_after), how many items are written, and
// their running net. A retried job resumes from it instead of starting over.
type Progress struct {
	Cursor string `json:"cursor,omitempty" dynamodbav:"cursor,omitempty"`
	Count  int    `json:"count" dynamodbav:"count"`
	Net    int64  `json:"net" dynamodbav:"net"`
	// Totals are the written items' sums by type (see Payout.Totals); nil in
	// a checkpoint from before they were kept, and then not stored at the end.
	Totals map[string]KindTotal `json:"totals,omitempty" dynamodbav:"totals,omitempty"`
}

// Size bounds of an item (see docs/sizes.md). Text from the provider is clipped
// so an item's stored size has a fixed ceiling, whatever the payout's size.
const (
	MaxIDLen          = 255 // Stripe IDs are at most 255 characters
	MaxDescriptionLen = 350
	// MaxItemBytes is the ceiling of one stored item (attribute names included).
	MaxItemBytes = 2048
)

// Clip bounds an item's text fields (see MaxItemBytes).
func (it *Item) Clip() {
	it.SourceID, it.PaymentID, it.InvoiceID = clip(it.SourceID, MaxIDLen), clip(it.PaymentID, MaxIDLen), clip(it.InvoiceID, MaxIDLen)
	it.Type, it.Currency, it.Description = clip(it.Type, 32), clip(it.Currency, 3), clip(it.Description, MaxDescriptionLen)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the stored text stays valid UTF-8.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Item is one line of a payout's itemisation. Net = Amount - Fee, and the nets of
// all items of a complete payout sum exactly to the payout's Amount.
type Item struct {
	PayoutID    string `json:"payout_id" dynamodbav:"payout_id"`
	Seq         int    `json:"seq" dynamodbav:"seq"`
	SourceID    string `json:"source_id" dynamodbav:"source_id"` // txn_… / Qualpay pg_id
	Type        string `json:"type" dynamodbav:"type"`
	Amount      int64  `json:"amount" dynamodbav:"amount"` // gross
	Fee         int64  `json:"fee" dynamodbav:"fee"`
	Net         int64  `json:"net" dynamodbav:"net"`
	Currency    string `json:"currency" dynamodbav:"currency"`
	Description string `json:"description,omitempty" dynamodbav:"description,omitempty"`
	PaymentID   string `json:"payment_id,omitempty" dynamodbav:"payment_id,omitempty"` // ch_/py_/pi_ or Qualpay pg_id
	InvoiceID   string `json:"invoice_id,omitempty" dynamodbav:"invoice_id,omitempty"` // our invoice ID when known
	Created     int64  `json:"created" dynamodbav:"created"`                           // unix seconds
}

// SumNet adds the items' nets.
func SumNet(items []Item) int64 {
	var s int64
	for _, it := range items {
		s += it.Net
	}
	return s
}
