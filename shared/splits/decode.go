package splits

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/shopspring/decimal"
)

// decodeObject decodes one JSON object strictly: unknown fields and trailing
// data are 400, a value of the wrong JSON type is 422 naming the field. Numbers
// that matter are json.RawMessage in the request structs and parsed exactly.
func decodeObject(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return apperr.New(apperr.Invalid, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return apperr.FieldErrors(map[string]string{te.Field: "must be a " + jsonKind(te.Type.String()) + ", not a JSON " + te.Value})
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			return apperr.New(apperr.Invalid, "unknown field %s", strings.TrimPrefix(msg, "json: unknown field "))
		}
		return apperr.New(apperr.Invalid, "request body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.New(apperr.Invalid, "unexpected data after the JSON object")
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case strings.Contains(goType, "string"):
		return "string"
	case strings.Contains(goType, "bool"):
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "list"
	default:
		return "JSON object"
	}
}

// fieldErrs collects per-field messages; the first message per field wins.
type fieldErrs map[string]string

func (f fieldErrs) add(field, format string, args ...any) {
	if _, ok := f[field]; !ok {
		f[field] = fmt.Sprintf(format, args...)
	}
}

func (f fieldErrs) err() error {
	if len(f) == 0 {
		return nil
	}
	return apperr.FieldErrors(f)
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// parseMinor reads a JSON integer of minor units exactly ("150000", not 1500.00 or "1500").
func parseMinor(raw json.RawMessage, field string, lo int64, errs fieldErrs) *int64 {
	if isNull(raw) {
		return nil
	}
	s := string(bytes.TrimSpace(raw))
	msg := fmt.Sprintf("must be a whole number of minor units between %d and %d (150000 is 1500.00 EUR)", lo, int64(MaxAmount))
	if len(s) > 24 || s[0] == '"' {
		errs.add(field, "%s", msg)
		return nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.Exponent() < -24 || d.Exponent() > 24 || !d.IsInteger() || d.LessThan(decimal.NewFromInt(lo)) || d.GreaterThan(decimal.NewFromInt(MaxAmount)) {
		errs.add(field, "%s", msg)
		return nil
	}
	v := d.IntPart()
	return &v
}

// parseFrac reads a JSON number (or numeric string) in [0, 1] exactly.
func parseFrac(raw json.RawMessage, field string, positive bool, errs fieldErrs) *Fraction {
	if isNull(raw) {
		return nil
	}
	var f Fraction
	if err := f.UnmarshalJSON(raw); err != nil {
		errs.add(field, "%v", err)
		return nil
	}
	if positive && f.IsZero() {
		errs.add(field, "must be greater than 0 (0.3 means 30%%)")
		return nil
	}
	return &f
}

// text trims and checks a free-text field.
func text(p *string, field string, max int, required bool, errs fieldErrs) string {
	if p == nil || strings.TrimSpace(*p) == "" {
		if required {
			errs.add(field, "is required")
		}
		return ""
	}
	s := strings.TrimSpace(*p)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		errs.add(field, "must be valid text of at most %d characters", max)
		return ""
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			errs.add(field, "must not contain control characters")
			return ""
		}
	}
	return s
}

// ref checks an identifier of another resource.
func ref(p *string, field string, required bool, errs fieldErrs) string {
	if p == nil || *p == "" {
		if required {
			errs.add(field, "is required")
		}
		return ""
	}
	if !validID(*p) {
		errs.add(field, "is not a valid identifier")
		return ""
	}
	return *p
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// ValidID reports whether s looks like an identifier (path parameters).
func ValidID(s string) bool { return validID(s) }

func currency(p *string, field string, required bool, errs fieldErrs) string {
	if p == nil || *p == "" {
		if required {
			errs.add(field, "is required (ISO 4217, e.g. EUR)")
		}
		return ""
	}
	c, err := money.NormalizeCurrency(*p)
	if err != nil {
		errs.add(field, "must be a 3-letter ISO 4217 code such as EUR")
		return ""
	}
	return c
}

// timestamp accepts RFC 3339 ("2024-08-20T17:39:31.219Z") or a date ("2024-08-20", midnight UTC).
func timestamp(p *string, field string, errs fieldErrs) *time.Time {
	if p == nil || *p == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, *p); err == nil {
		u := t.UTC()
		return &u
	}
	if t, err := time.Parse(time.DateOnly, *p); err == nil {
		return &t
	}
	errs.add(field, "must be an RFC 3339 time such as 2024-08-20T17:39:31Z or a date such as 2024-08-20")
	return nil
}

// TaxTypes are the accepted tax_type values.
var TaxTypes = []string{"sales-tax", "vat", "gst", "hst", "pst", "qst", "service-tax", "withholding", "other"}

type taxBody struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Country     *string         `json:"country"`
	State       *string         `json:"state"`
	TaxType     *string         `json:"tax_type"`
	Inclusive   *bool           `json:"inclusive"`
	Percentage  json.RawMessage `json:"percentage"`
}

// DecodeTax reads a POST /v1/taxes body. ID and CreatedAt are left to the caller.
func DecodeTax(body []byte) (Tax, error) {
	var b taxBody
	if err := decodeObject(body, &b); err != nil {
		return Tax{}, err
	}
	errs := fieldErrs{}
	t := Tax{
		Name:        text(b.Name, "name", 200, true, errs),
		Description: text(b.Description, "description", 1000, false, errs),
		State:       text(b.State, "state", 64, false, errs),
	}
	if b.Country != nil && *b.Country != "" {
		c := strings.ToUpper(strings.TrimSpace(*b.Country))
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			errs.add("country", "must be an ISO 3166-1 alpha-2 code such as AU")
		}
		t.Country = c
	}
	if b.TaxType == nil || *b.TaxType == "" {
		errs.add("tax_type", "is required: one of %s", strings.Join(TaxTypes, ", "))
	} else if !contains(TaxTypes, *b.TaxType) {
		errs.add("tax_type", "must be one of %s", strings.Join(TaxTypes, ", "))
	}
	if b.TaxType != nil {
		t.TaxType = *b.TaxType
	}
	if b.Inclusive != nil {
		t.Inclusive = *b.Inclusive
	}
	if isNull(b.Percentage) {
		errs.add("percentage", "is required: the rate as a fraction, 0.1 means 10%%")
	} else if f := parseFrac(b.Percentage, "percentage", false, errs); f != nil {
		t.Percentage = *f
	}
	return t, errs.err()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type partnershipBody struct {
	Name            *string `json:"name"`
	StripeAccountID *string `json:"stripe_account_id"`
}

// DecodePartnership reads a POST /v1/partnerships body; whether the account is
// really connected to the partner is the caller's check.
func DecodePartnership(body []byte) (Partnership, error) {
	var b partnershipBody
	if err := decodeObject(body, &b); err != nil {
		return Partnership{}, err
	}
	errs := fieldErrs{}
	p := Partnership{Name: text(b.Name, "name", 200, true, errs)}
	if b.StripeAccountID == nil || *b.StripeAccountID == "" {
		errs.add("stripe_account_id", "is required: the partnership's connected Stripe account (acct_…)")
	} else if a := *b.StripeAccountID; !strings.HasPrefix(a, "acct_") || !validID(a) {
		errs.add("stripe_account_id", "must be a Stripe account ID such as acct_1A2b3C")
	} else {
		p.StripeAccountID = a
	}
	return p, errs.err()
}

type itemBody struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Category    *string         `json:"category"`
	Amount      json.RawMessage `json:"amount"`
}

type intentBody struct {
	Company  *string    `json:"company"`
	Contact  *string    `json:"contact"`
	Currency *string    `json:"currency"`
	DueAt    *string    `json:"due_at"`
	Tax      *string    `json:"tax"`
	Supplier *string    `json:"supplier"`
	Items    []itemBody `json:"items"`
}

// DecodeIntent reads a POST /v1/payment-intents body. Item IDs, the intent ID
// and CreatedAt are left to the caller; references (tax, supplier, company) are
// checked by the caller against the store.
func DecodeIntent(body []byte) (Intent, error) {
	var b intentBody
	if err := decodeObject(body, &b); err != nil {
		return Intent{}, err
	}
	errs := fieldErrs{}
	in := Intent{
		Company:  ref(b.Company, "company", false, errs),
		Contact:  text(b.Contact, "contact", 200, false, errs),
		Currency: currency(b.Currency, "currency", true, errs),
		DueAt:    timestamp(b.DueAt, "due_at", errs),
		Tax:      ref(b.Tax, "tax", false, errs),
		Supplier: ref(b.Supplier, "supplier", false, errs),
	}
	switch {
	case len(b.Items) == 0:
		errs.add("items", "at least one item is required")
	case len(b.Items) > MaxItems:
		errs.add("items", "at most %d items", MaxItems)
	}
	for i, ib := range b.Items {
		f := fmt.Sprintf("items[%d].", i)
		it := Item{
			Name:        text(ib.Name, f+"name", 200, true, errs),
			Description: text(ib.Description, f+"description", 1000, false, errs),
			Category:    text(ib.Category, f+"category", 100, false, errs),
		}
		if isNull(ib.Amount) {
			errs.add(f+"amount", "is required, in minor units (150000 is 1500.00 EUR)")
		} else if a := parseMinor(ib.Amount, f+"amount", 1, errs); a != nil {
			it.Amount = *a
		}
		in.Items = append(in.Items, it)
	}
	return in, errs.err()
}

// splitBody is the wire form of a split request (create, and patch overlays).
type splitBody struct {
	Type          *string         `json:"type"`
	Currency      *string         `json:"currency"`
	Amount        json.RawMessage `json:"amount"`
	Percentage    json.RawMessage `json:"percentage"`
	Keep          json.RawMessage `json:"keep"`
	Partnership   *string         `json:"partnership"`
	Item          *string         `json:"item"`
	Contact       *string         `json:"contact"`
	Split         *string         `json:"split"`
	DueAt         *string         `json:"due_at"`
	Tax           *string         `json:"tax"`
	PaymentIntent *string         `json:"payment_intent"`
}

// SplitDraft is a decoded split request. For computed types an amount the
// client sent is kept in SentAmount: it must match the computed amount.
type SplitDraft struct {
	Split      Split
	SentAmount *int64
}

// DecodeSplit reads a POST /v1/payment-splits body and validates it on its own
// (types, required and forbidden fields per type, formats). Checks that need the
// intent, the other splits and the taxes are done by Plan.
func DecodeSplit(body []byte) (SplitDraft, error) {
	var b splitBody
	if err := decodeObject(body, &b); err != nil {
		return SplitDraft{}, err
	}
	return b.validate()
}

// DecodeSplitPatch applies a PATCH body to an existing split: fields present
// replace the split's, null clears an optional one, and the result is validated
// as a whole. A split cannot move to another payment intent.
func DecodeSplitPatch(body []byte, cur Split) (SplitDraft, error) {
	var p splitBody
	if err := decodeObject(body, &p); err != nil {
		return SplitDraft{}, err
	}
	if p.PaymentIntent != nil && *p.PaymentIntent != cur.PaymentIntent {
		return SplitDraft{}, apperr.FieldErrors(map[string]string{"payment_intent": "a split cannot move to another payment intent; delete it and create a new one"})
	}
	b := wire(cur)
	// json.RawMessage fields: present in the patch (even as null) replaces.
	var present map[string]json.RawMessage
	_ = json.Unmarshal(body, &present) // already known to be a valid object
	over := func(name string, dst **string, src *string) {
		if _, ok := present[name]; ok {
			*dst = src
		}
	}
	over("type", &b.Type, p.Type)
	over("currency", &b.Currency, p.Currency)
	over("partnership", &b.Partnership, p.Partnership)
	over("item", &b.Item, p.Item)
	over("contact", &b.Contact, p.Contact)
	over("split", &b.Split, p.Split)
	over("due_at", &b.DueAt, p.DueAt)
	over("tax", &b.Tax, p.Tax)
	for name, dst := range map[string]*json.RawMessage{"amount": &b.Amount, "percentage": &b.Percentage, "keep": &b.Keep} {
		if v, ok := present[name]; ok {
			*dst = v
		}
	}
	t := SplitType("")
	if b.Type != nil {
		t = SplitType(*b.Type)
	}
	if _, ok := present["amount"]; !ok && t != Fixed {
		b.Amount = nil // the stored amount of a computed split is not a client claim
	}
	// Changing the type drops the fields the new type does not take, unless sent.
	if _, ok := present["type"]; ok && t != SplitType(cur.Type) {
		if _, ok := present["percentage"]; !ok && t != PercentageOnAmount && t != PercentageOnSplits {
			b.Percentage = nil
		}
		if _, ok := present["keep"]; !ok && t != KeepPercentage {
			b.Keep = nil
		}
		if _, ok := present["amount"]; !ok {
			b.Amount = nil
		}
	}
	d, err := b.validate()
	if err != nil {
		return SplitDraft{}, err
	}
	d.Split.ID = cur.ID
	d.Split.Status = cur.Status
	d.Split.AmountPaid = cur.AmountPaid
	d.Split.CreatedAt = cur.CreatedAt
	return d, nil
}

// wire turns a stored split back into its request form (for patches).
func wire(s Split) splitBody {
	str := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	b := splitBody{
		Type: str(string(s.Type)), Currency: str(s.Currency), Partnership: str(s.Partnership),
		Item: str(s.Item), Contact: str(s.Contact), Split: str(s.Split), Tax: str(s.Tax),
		PaymentIntent: str(s.PaymentIntent),
	}
	if s.Type == Fixed {
		b.Amount = json.RawMessage(fmt.Sprint(s.Amount))
	}
	if s.Percentage != nil {
		b.Percentage = json.RawMessage(s.Percentage.String())
	}
	if s.Keep != nil {
		b.Keep = json.RawMessage(s.Keep.String())
	}
	if s.DueAt != nil {
		b.DueAt = str(s.DueAt.Format(time.RFC3339Nano))
	}
	return b
}

func (b splitBody) validate() (SplitDraft, error) {
	errs := fieldErrs{}
	var t SplitType
	if b.Type != nil {
		t = SplitType(*b.Type)
	}
	if !t.creatable() {
		errs.add("type", "%s", typeMessage(string(t)))
	}
	s := Split{
		Type:          t,
		Currency:      currency(b.Currency, "currency", false, errs),
		Partnership:   ref(b.Partnership, "partnership", t != KeepPercentage, errs),
		Item:          ref(b.Item, "item", t != PercentageOnSplits, errs),
		Contact:       text(b.Contact, "contact", 200, false, errs),
		DueAt:         timestamp(b.DueAt, "due_at", errs),
		Tax:           ref(b.Tax, "tax", false, errs),
		PaymentIntent: ref(b.PaymentIntent, "payment_intent", true, errs),
		Status:        SplitPending,
	}
	d := SplitDraft{}
	percentageType := t == PercentageOnAmount || t == PercentageOnSplits
	switch {
	case percentageType && isNull(b.Percentage):
		errs.add("percentage", "is required for %s: a fraction, 0.3 means 30%%", t)
	case percentageType:
		s.Percentage = parseFrac(b.Percentage, "percentage", true, errs)
	case !isNull(b.Percentage) && t == KeepPercentage:
		errs.add("percentage", "applies only to percentage-on-amount and percentage-on-splits (keep-percentage takes keep)")
	case !isNull(b.Percentage) && t.creatable():
		errs.add("percentage", "applies only to percentage-on-amount and percentage-on-splits")
	}
	switch {
	case t == KeepPercentage && isNull(b.Keep):
		errs.add("keep", "is required for keep-percentage: the fraction of the item the tenant keeps, 0.3 means 30%%")
	case t == KeepPercentage:
		s.Keep = parseFrac(b.Keep, "keep", false, errs)
	case !isNull(b.Keep) && t.creatable():
		errs.add("keep", "applies only to keep-percentage")
	}
	// On percentage-on-splits, split is the base of the computation. On the other
	// types it is a reference kept for reporting (Qualy's guide sends one with a
	// percentage-on-amount split); it never changes what anyone receives.
	s.Split = ref(b.Split, "split", t == PercentageOnSplits, errs)
	switch {
	case t == Fixed && isNull(b.Amount):
		errs.add("amount", "is required for fixed: minor units, 52500 is 525.00 EUR")
	case t == Fixed:
		if a := parseMinor(b.Amount, "amount", 1, errs); a != nil {
			s.Amount = *a
		}
	case t.creatable():
		// Computed types: an amount sent is a claim checked against the computation.
		d.SentAmount = parseMinor(b.Amount, "amount", 0, errs)
	}
	d.Split = s
	return d, errs.err()
}
