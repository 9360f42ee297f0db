package splits

import "time"

// Limits that keep every request and computation bounded.
const (
	MaxAmount          = 1_000_000_000_000 // minor units per item or fixed split (10 billion in a 2-decimal currency)
	MaxItems           = 100               // items per payment intent
	MaxSplitsPerIntent = 200               // splits per payment intent
	MaxChainDepth      = 5                 // percentage-on-splits references followed from one split
)

// SplitType says how a split's amount is computed.
type SplitType string

// Split types. Self and Supplier are computed by the system and never created.
const (
	PercentageOnAmount SplitType = "percentage-on-amount"
	PercentageOnSplits SplitType = "percentage-on-splits"
	Fixed              SplitType = "fixed"
	KeepPercentage     SplitType = "keep-percentage"
	Self               SplitType = "self"
	Supplier           SplitType = "supplier"
)

// creatable reports whether clients may create splits of this type.
func (t SplitType) creatable() bool {
	switch t {
	case PercentageOnAmount, PercentageOnSplits, Fixed, KeepPercentage:
		return true
	}
	return false
}

// SplitStatus is where a split's payout stands.
type SplitStatus string

// Split statuses: pending until its transfer succeeds (paid) or is refused (failed).
const (
	SplitPending SplitStatus = "pending"
	SplitPaid    SplitStatus = "paid"
	SplitFailed  SplitStatus = "failed"
)

// IntentStatus is derived from what was received, the due date and cancellation.
type IntentStatus string

// Payment intent statuses.
const (
	IntentDue         IntentStatus = "due"
	IntentPaidPartial IntentStatus = "paid-partial"
	IntentPaid        IntentStatus = "paid"
	IntentOverdue     IntentStatus = "overdue"
	IntentCanceled    IntentStatus = "canceled"
)

// Tax is a rate that splits (and the tenant's remainder) reference.
type Tax struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Country     string     `json:"country,omitempty"`
	State       string     `json:"state,omitempty"`
	TaxType     string     `json:"tax_type"`
	Inclusive   bool       `json:"inclusive"`
	Percentage  Fraction   `json:"percentage"`
	ArchivedAt  *time.Time `json:"archived_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Archived reports whether the rate may no longer be used on new splits.
func (t Tax) Archived() bool { return t.ArchivedAt != nil }

// Partnership is a beneficiary: a connected Stripe account of the partner.
type Partnership struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	StripeAccountID string    `json:"stripe_account_id"`
	CreatedAt       time.Time `json:"created_at"`
}

// Item is one line of a payment intent; splits attach to items.
type Item struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Category    string `json:"category,omitempty"`
	Amount      int64  `json:"amount"`
}

// Intent is what a tenant bills a payer (the contact).
type Intent struct {
	ID         string     `json:"id"`
	Company    string     `json:"company,omitempty"` // the tenant, when the partner names one
	Contact    string     `json:"contact,omitempty"`
	Currency   string     `json:"currency"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	Tax        string     `json:"tax,omitempty"`      // taxes the tenant's remainder
	Supplier   string     `json:"supplier,omitempty"` // partnership that receives unclaimed items
	Items      []Item     `json:"items"`
	Received   int64      `json:"amount_received"`
	CanceledAt *time.Time `json:"canceled_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// Amount is the sum of the items.
func (in Intent) Amount() int64 {
	var t int64
	for _, it := range in.Items {
		t += it.Amount
	}
	return t
}

// StatusAt derives the status: canceled wins, then what was received, then the due date.
func (in Intent) StatusAt(now time.Time) IntentStatus {
	total := in.Amount()
	switch {
	case in.CanceledAt != nil:
		return IntentCanceled
	case in.Received >= total && total > 0:
		return IntentPaid
	case in.Received > 0:
		return IntentPaidPartial
	case in.DueAt != nil && now.After(*in.DueAt):
		return IntentOverdue
	default:
		return IntentDue
	}
}

// item finds an item by ID.
func (in Intent) item(id string) (Item, bool) {
	for _, it := range in.Items {
		if it.ID == id {
			return it, true
		}
	}
	return Item{}, false
}

// Split is a stored split definition plus, on reads, its computed amounts.
//
// Amount is the input for fixed splits and the computed amount otherwise (what
// the partnership receives). Kept is the tenant's kept share of a keep-percentage
// split. TaxTotal is computed on Kept for keep-percentage, on Amount otherwise.
type Split struct {
	ID            string      `json:"id"`
	Type          SplitType   `json:"type"`
	Currency      string      `json:"currency"`
	Amount        int64       `json:"amount"`
	Percentage    *Fraction   `json:"percentage,omitempty"`
	Keep          *Fraction   `json:"keep,omitempty"`
	Kept          *int64      `json:"kept,omitempty"`
	Partnership   string      `json:"partnership,omitempty"`
	Item          string      `json:"item"`
	Contact       string      `json:"contact,omitempty"`
	Split         string      `json:"split,omitempty"`
	DueAt         *time.Time  `json:"due_at,omitempty"`
	Tax           string      `json:"tax,omitempty"`
	TaxTotal      int64       `json:"tax_total"`
	PaymentIntent string      `json:"payment_intent"`
	Status        SplitStatus `json:"status"`
	AmountPaid    int64       `json:"amount_paid"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}
