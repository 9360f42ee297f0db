package vault

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// Customer is a vault customer as our API shows it (live from Qualpay).
type Customer struct {
	CustomerID        string    `json:"customer_id"`
	MerchantID        int64     `json:"merchant_id"`
	FirstName         string    `json:"first_name"`
	LastName          string    `json:"last_name"`
	FirmName          string    `json:"firm_name,omitempty"`
	Email             string    `json:"email,omitempty"`
	Phone             string    `json:"phone,omitempty"`
	ReferenceID       string    `json:"reference_id,omitempty"`
	Comments          string    `json:"comments,omitempty"`
	Cards             []Card    `json:"cards"`
	ShippingAddresses []Address `json:"shipping_addresses"`
	CreatedAt         time.Time `json:"created_at"`
}

// Card is a stored payment method. MaskedNumber is all we ever see of the number.
type Card struct {
	CardID       string  `json:"card_id"`
	MaskedNumber string  `json:"masked_number,omitempty"`
	CardType     string  `json:"card_type,omitempty"`
	ExpDate      string  `json:"exp_date,omitempty"` // MMYY
	Primary      bool    `json:"primary"`
	VerifiedDate string  `json:"verified_date,omitempty"`
	Billing      Billing `json:"billing"`
}

// Billing is a card's billing name and address.
type Billing struct {
	FirstName   string   `json:"first_name,omitempty"`
	LastName    string   `json:"last_name,omitempty"`
	FirmName    string   `json:"firm_name,omitempty"`
	Email       []string `json:"email,omitempty"`
	Address1    string   `json:"address1,omitempty"`
	Address2    string   `json:"address2,omitempty"`
	City        string   `json:"city,omitempty"`
	State       string   `json:"state,omitempty"`
	Zip         string   `json:"zip,omitempty"`
	Zip4        string   `json:"zip4,omitempty"`
	Country     string   `json:"country,omitempty"`
	CountryCode string   `json:"country_code,omitempty"`
}

// Address is a shipping address.
type Address struct {
	ShippingID  int64  `json:"shipping_id"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	FirmName    string `json:"firm_name,omitempty"`
	Address1    string `json:"address1,omitempty"`
	Address2    string `json:"address2,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Zip4        string `json:"zip4,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Primary     bool   `json:"primary"`
}

// Summary is a list entry, from our store (see link): names, email and
// masked cards as last seen; GET the customer for the live record.
type Summary struct {
	CustomerID           string        `json:"customer_id"`
	MerchantID           int64         `json:"merchant_id"`
	FirstName            string        `json:"first_name"`
	LastName             string        `json:"last_name"`
	FirmName             string        `json:"firm_name,omitempty"`
	Email                string        `json:"email,omitempty"`
	Cards                []CardSummary `json:"cards"`
	ShippingAddressCount int           `json:"shipping_address_count"`
	CreatedAt            time.Time     `json:"created_at"`
	UpdatedAt            time.Time     `json:"updated_at"`
}

// ListQuery selects a page of customers.
type ListQuery struct {
	Limit  int32
	Cursor string
	Name   string // case-insensitive substring of "first last firm"
	Email  string // case-insensitive substring of the email
}

// CustomerInput creates a customer: first and last name are enough.
type CustomerInput struct {
	CustomerID  string `json:"customer_id"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	FirmName    string `json:"firm_name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	ReferenceID string `json:"reference_id"`
	Comments    string `json:"comments"`
}

// Bounds of the vault's request arrays (every request array has one; past it
// the request is 422 and nothing is sent to Qualpay).
const (
	MaxShippingAddresses = 20 // per request
	MaxBillingEmails     = 5
)

// CustomerPatch changes some fields. Shipping addresses merge by
// shipping_id (entries without one are added); removing one is DELETE on it.
type CustomerPatch struct {
	FirstName         *string        `json:"first_name"`
	LastName          *string        `json:"last_name"`
	FirmName          *string        `json:"firm_name"`
	Email             *string        `json:"email"`
	Phone             *string        `json:"phone"`
	ReferenceID       *string        `json:"reference_id"`
	Comments          *string        `json:"comments"`
	ShippingAddresses []AddressPatch `json:"shipping_addresses"`
}

// AddressPatch is one entry of CustomerPatch.ShippingAddresses.
type AddressPatch struct {
	ShippingID int64 `json:"shipping_id"`
	AddressInput
}

// CardInput adds (POST) or changes (PATCH) a card. Cards are added only by
// card_id, the token Qualpay Embedded Fields returns in the browser.
type CardInput struct {
	CardID  string        `json:"card_id"`
	ExpDate *string       `json:"exp_date"`
	Billing *BillingInput `json:"billing"`
	Primary bool          `json:"primary"`
	Verify  bool          `json:"verify"`
}

// BillingInput sets billing fields; absent ones keep their value on PATCH.
type BillingInput struct {
	FirstName   *string   `json:"first_name"`
	LastName    *string   `json:"last_name"`
	FirmName    *string   `json:"firm_name"`
	Email       *[]string `json:"email"`
	Address1    *string   `json:"address1"`
	Address2    *string   `json:"address2"`
	City        *string   `json:"city"`
	State       *string   `json:"state"`
	Zip         *string   `json:"zip"`
	Zip4        *string   `json:"zip4"`
	Country     *string   `json:"country"`
	CountryCode *string   `json:"country_code"`
}

// AddressInput adds or changes a shipping address.
type AddressInput struct {
	FirstName   *string `json:"first_name"`
	LastName    *string `json:"last_name"`
	FirmName    *string `json:"firm_name"`
	Address1    *string `json:"address1"`
	Address2    *string `json:"address2"`
	City        *string `json:"city"`
	State       *string `json:"state"`
	Zip         *string `json:"zip"`
	Zip4        *string `json:"zip4"`
	Country     *string `json:"country"`
	CountryCode *string `json:"country_code"`
	Primary     *bool   `json:"primary"`
}

// Field limits are Qualpay's.
type limits map[string]string

func (b limits) max(field, v string, n int) {
	if len(v) > n {
		b[field] = "must be at most " + strconv.Itoa(n) + " characters"
	}
}

func (b limits) maxp(field string, v *string, n int) {
	if v != nil {
		b.max(field, *v, n)
	}
}

func (b limits) err() error {
	if len(b) == 0 {
		return nil
	}
	return apperr.FieldErrors(b)
}

// Compiled on first use, not during the Lambda cold start.
var (
	emailRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`) })
	expRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(0[1-9]|1[0-2])[0-9]{2}$`) })
	zip4Re   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{4}$`) })
	cardIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`) })
)

func (b limits) email(field, v string) {
	if v != "" && !emailRe().MatchString(v) {
		b[field] = "must be an email address"
	}
	b.max(field, v, 64)
}

func (in CustomerInput) validate() error {
	b := limits{}
	if in.CustomerID != "" && !qualpay.ValidCustomerID(in.CustomerID) {
		b["customer_id"] = "must be 1 to 32 letters and digits"
	}
	if strings.TrimSpace(in.FirstName) == "" {
		b["first_name"] = "is required"
	}
	if strings.TrimSpace(in.LastName) == "" {
		b["last_name"] = "is required"
	}
	b.max("first_name", in.FirstName, 32)
	b.max("last_name", in.LastName, 32)
	b.max("firm_name", in.FirmName, 64)
	b.max("phone", in.Phone, 16)
	b.max("reference_id", in.ReferenceID, 128)
	b.max("comments", in.Comments, 128)
	b.email("email", in.Email)
	return b.err()
}

func (in CustomerInput) qualpay(id string) qualpay.CustomerInput {
	return qualpay.CustomerInput{CustomerID: id, FirstName: in.FirstName, LastName: in.LastName, FirmName: in.FirmName,
		Email: in.Email, Phone: in.Phone, ReferenceID: in.ReferenceID, Comments: in.Comments}
}

func (in CustomerPatch) validate() error {
	b := limits{}
	for f, v := range map[string]*string{"first_name": in.FirstName, "last_name": in.LastName} {
		if v != nil && strings.TrimSpace(*v) == "" {
			b[f] = "must not be empty"
		}
	}
	b.maxp("first_name", in.FirstName, 32)
	b.maxp("last_name", in.LastName, 32)
	b.maxp("firm_name", in.FirmName, 64)
	b.maxp("phone", in.Phone, 16)
	b.maxp("reference_id", in.ReferenceID, 128)
	b.maxp("comments", in.Comments, 128)
	if in.Email != nil {
		b.email("email", *in.Email)
	}
	if len(in.ShippingAddresses) > MaxShippingAddresses {
		b["shipping_addresses"] = "at most " + strconv.Itoa(MaxShippingAddresses) + " addresses in one request"
		in.ShippingAddresses = nil
	}
	for i, a := range in.ShippingAddresses {
		for k, v := range a.problems(a.ShippingID == 0) {
			b["shipping_addresses["+strconv.Itoa(i)+"]."+k] = v
		}
	}
	if len(b) == 0 && len(in.ShippingAddresses) == 0 && in.FirstName == nil && in.LastName == nil && in.FirmName == nil &&
		in.Email == nil && in.Phone == nil && in.ReferenceID == nil && in.Comments == nil {
		return apperr.New(apperr.Invalid, "nothing to update")
	}
	return b.err()
}

// merge builds the PUT: changed scalars, plus the whole merged shipping list
// when addresses change (Qualpay's PUT replaces arrays).
func (in CustomerPatch) merge(cur qualpay.Customer) (qualpay.CustomerUpdate, error) {
	up := qualpay.CustomerUpdate{FirstName: in.FirstName, LastName: in.LastName, FirmName: in.FirmName,
		Email: in.Email, Phone: in.Phone, ReferenceID: in.ReferenceID, Comments: in.Comments}
	if len(in.ShippingAddresses) == 0 {
		return up, nil
	}
	list := make([]qualpay.ShippingAddressInput, 0, len(cur.ShippingAddresses)+len(in.ShippingAddresses))
	index := map[int64]int{}
	for _, a := range cur.ShippingAddresses {
		index[a.ShippingID] = len(list)
		list = append(list, qualpay.ShippingAddressInput{ShippingFields: a.ShippingFields, Primary: a.Primary})
	}
	asked := -1 // the address the patch makes primary, if any
	for i, p := range in.ShippingAddresses {
		at := len(list)
		if p.ShippingID == 0 {
			list = append(list, p.qualpay(qualpay.ShippingFields{}))
		} else {
			var ok bool
			if at, ok = index[p.ShippingID]; !ok {
				return up, apperr.FieldErrors(map[string]string{
					"shipping_addresses[" + strconv.Itoa(i) + "].shipping_id": "is not an address of this customer"})
			}
			list[at] = withPrimaryOf(p.qualpay(list[at].ShippingFields), p.Primary, list[at].Primary)
		}
		if p.Primary != nil && *p.Primary {
			asked = at
		}
	}
	// Exactly one primary: the one asked for, else the current one.
	if asked >= 0 {
		for i := range list {
			list[i].Primary = i == asked
		}
	}
	up.ShippingAddresses = &list
	return up, nil
}

func (a AddressInput) problems(adding bool) map[string]string {
	b := limits{}
	if adding {
		if a.FirstName == nil || strings.TrimSpace(*a.FirstName) == "" {
			b["first_name"] = "is required"
		}
		if a.LastName == nil || strings.TrimSpace(*a.LastName) == "" {
			b["last_name"] = "is required"
		}
	} else {
		for f, v := range map[string]*string{"first_name": a.FirstName, "last_name": a.LastName} {
			if v != nil && strings.TrimSpace(*v) == "" {
				b[f] = "must not be empty"
			}
		}
	}
	b.maxp("first_name", a.FirstName, 32)
	b.maxp("last_name", a.LastName, 32)
	b.maxp("firm_name", a.FirmName, 64)
	b.maxp("address1", a.Address1, 128)
	b.maxp("address2", a.Address2, 128)
	b.maxp("city", a.City, 64)
	b.maxp("state", a.State, 3)
	b.maxp("zip", a.Zip, 10)
	b.maxp("country", a.Country, 128)
	b.maxp("country_code", a.CountryCode, 3)
	if a.Zip4 != nil && *a.Zip4 != "" && !zip4Re().MatchString(*a.Zip4) {
		b["zip4"] = "must be 4 digits"
	}
	return b
}

func (a AddressInput) validate(adding bool) error { return limits(a.problems(adding)).err() }

// qualpay overlays the set fields on base.
func (a AddressInput) qualpay(base qualpay.ShippingFields) qualpay.ShippingAddressInput {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	f := base
	set(&f.FirstName, a.FirstName)
	set(&f.LastName, a.LastName)
	set(&f.FirmName, a.FirmName)
	set(&f.Addr1, a.Address1)
	set(&f.Addr2, a.Address2)
	set(&f.City, a.City)
	set(&f.State, a.State)
	set(&f.Zip, a.Zip)
	set(&f.Zip4, a.Zip4)
	set(&f.Country, a.Country)
	set(&f.CountryCode, a.CountryCode)
	out := qualpay.ShippingAddressInput{ShippingFields: f}
	if a.Primary != nil {
		out.Primary = *a.Primary
	}
	return out
}

// withPrimaryOf keeps an address's primary flag unless the patch sets it.
func withPrimaryOf(in qualpay.ShippingAddressInput, asked *bool, was bool) qualpay.ShippingAddressInput {
	in.Primary = was
	if asked != nil {
		in.Primary = *asked
	}
	return in
}

func checkCardID(id string) error {
	if !cardIDRe().MatchString(id) {
		return apperr.FieldErrors(map[string]string{"card_id": "must be a card_id token from Qualpay Embedded Fields (up to 32 letters and digits)"})
	}
	return nil
}

func (in CardInput) validate(adding bool) error {
	b := limits{}
	if !cardIDRe().MatchString(in.CardID) {
		b["card_id"] = "must be a card_id token from Qualpay Embedded Fields (up to 32 letters and digits)"
	}
	if in.ExpDate != nil && !expRe().MatchString(*in.ExpDate) {
		b["exp_date"] = "must be MMYY"
	}
	bi := in.Billing
	if bi == nil {
		bi = &BillingInput{}
	}
	if adding && (bi.Zip == nil || strings.TrimSpace(*bi.Zip) == "") {
		b["billing.zip"] = "is required"
	}
	b.maxp("billing.first_name", bi.FirstName, 32)
	b.maxp("billing.last_name", bi.LastName, 32)
	b.maxp("billing.firm_name", bi.FirmName, 64)
	b.maxp("billing.address1", bi.Address1, 128)
	b.maxp("billing.address2", bi.Address2, 128)
	b.maxp("billing.city", bi.City, 64)
	b.maxp("billing.state", bi.State, 3)
	b.maxp("billing.zip", bi.Zip, 10)
	b.maxp("billing.country", bi.Country, 128)
	b.maxp("billing.country_code", bi.CountryCode, 3)
	if bi.Zip4 != nil && *bi.Zip4 != "" && !zip4Re().MatchString(*bi.Zip4) {
		b["billing.zip4"] = "must be 4 digits"
	}
	if bi.Email != nil && len(*bi.Email) > MaxBillingEmails {
		b["billing.email"] = "at most " + strconv.Itoa(MaxBillingEmails) + " addresses"
	} else if bi.Email != nil {
		for i, e := range *bi.Email {
			if !emailRe().MatchString(e) || len(e) > 128 {
				b["billing.email["+strconv.Itoa(i)+"]"] = "must be an email address"
			}
		}
	}
	if !adding && in.ExpDate == nil && in.Billing == nil {
		return apperr.New(apperr.Invalid, "nothing to update: send exp_date and/or billing")
	}
	return b.err()
}

// qualpay overlays the input on the card's current billing record.
func (in CardInput) qualpay(base qualpay.BillingDetails) qualpay.CardInput {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	d := base
	if bi := in.Billing; bi != nil {
		set(&d.BillingFirstName, bi.FirstName)
		set(&d.BillingLastName, bi.LastName)
		set(&d.BillingFirmName, bi.FirmName)
		set(&d.BillingAddr1, bi.Address1)
		set(&d.BillingAddr2, bi.Address2)
		set(&d.BillingCity, bi.City)
		set(&d.BillingState, bi.State)
		set(&d.BillingZip, bi.Zip)
		set(&d.BillingZip4, bi.Zip4)
		set(&d.BillingCountry, bi.Country)
		set(&d.BillingCountryCode, bi.CountryCode)
		if bi.Email != nil {
			d.BillingEmail = *bi.Email
		}
	}
	out := qualpay.CardInput{CardID: in.CardID, BillingDetails: d, Primary: in.Primary, Verify: in.Verify}
	if in.ExpDate != nil {
		out.ExpDate = *in.ExpDate
	}
	return out
}

func (b Billing) qualpay() qualpay.BillingDetails {
	return qualpay.BillingDetails{BillingFirstName: b.FirstName, BillingLastName: b.LastName, BillingFirmName: b.FirmName,
		BillingEmail: b.Email, BillingAddr1: b.Address1, BillingAddr2: b.Address2, BillingCity: b.City, BillingState: b.State,
		BillingZip: b.Zip, BillingZip4: b.Zip4, BillingCountry: b.Country, BillingCountryCode: b.CountryCode}
}

func view(c qualpay.Customer, l link) Customer {
	return Customer{CustomerID: c.CustomerID, MerchantID: l.MerchantID, FirstName: c.FirstName, LastName: c.LastName,
		FirmName: c.FirmName, Email: c.Email, Phone: c.Phone, ReferenceID: c.ReferenceID, Comments: c.Comments,
		Cards: cardViews(c.BillingCards), ShippingAddresses: addressViews(c.ShippingAddresses), CreatedAt: l.CreatedAt}
}

func cardViews(cs []qualpay.BillingCard) []Card {
	out := make([]Card, 0, len(cs))
	for _, c := range cs {
		out = append(out, cardView(c))
	}
	return out
}

func cardView(c qualpay.BillingCard) Card {
	d := c.BillingDetails
	return Card{CardID: c.CardID, MaskedNumber: c.CardNumber, CardType: c.CardType, ExpDate: c.ExpDate, Primary: c.Primary,
		VerifiedDate: c.VerifiedDate, Billing: Billing{FirstName: d.BillingFirstName, LastName: d.BillingLastName,
			FirmName: d.BillingFirmName, Email: d.BillingEmail, Address1: d.BillingAddr1, Address2: d.BillingAddr2,
			City: d.BillingCity, State: d.BillingState, Zip: d.BillingZip, Zip4: d.BillingZip4, Country: d.BillingCountry,
			CountryCode: d.BillingCountryCode}}
}

func addressViews(as []qualpay.ShippingAddress) []Address {
	out := make([]Address, 0, len(as))
	for _, a := range as {
		out = append(out, addressView(a))
	}
	return out
}

func addressView(a qualpay.ShippingAddress) Address {
	f := a.ShippingFields
	return Address{ShippingID: a.ShippingID, FirstName: f.FirstName, LastName: f.LastName, FirmName: f.FirmName,
		Address1: f.Addr1, Address2: f.Addr2, City: f.City, State: f.State, Zip: f.Zip, Zip4: f.Zip4,
		Country: f.Country, CountryCode: f.CountryCode, Primary: a.Primary}
}

func summary(l link) Summary {
	cards := l.Cards
	if cards == nil {
		cards = []CardSummary{}
	}
	return Summary{CustomerID: l.CustomerID, MerchantID: l.MerchantID, FirstName: l.FirstName, LastName: l.LastName,
		FirmName: l.FirmName, Email: l.Email, Cards: cards, ShippingAddressCount: l.Addresses,
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}
