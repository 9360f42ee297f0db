package qualpay

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"sync"

	"github.com/payrecon/payrecon/shared/apperr"
)

// Customer is a Customer Vault record (spec: CustomerVault). Qualpay is the
// source of truth: card data shown here (masked number, expiry) may change
// between reads when Qualpay's Account Updater refreshes a card, so callers
// must not cache it as authoritative.
type Customer struct {
	CustomerID        string            `json:"customer_id,omitempty"`
	NodeID            int64             `json:"node_id,omitempty"` // the merchant that owns the record
	FirstName         string            `json:"customer_first_name,omitempty"`
	LastName          string            `json:"customer_last_name,omitempty"`
	FirmName          string            `json:"customer_firm_name,omitempty"`
	Phone             string            `json:"customer_phone,omitempty"`
	Email             string            `json:"customer_email,omitempty"`
	ReferenceID       string            `json:"reference_id,omitempty"`
	Comments          string            `json:"comments,omitempty"`
	DeveloperID       string            `json:"developer_id,omitempty"`
	PrimaryCardNumber string            `json:"primary_card_number,omitempty"` // masked
	ShippingAddresses []ShippingAddress `json:"shipping_addresses,omitempty"`
	BillingCards      []BillingCard     `json:"billing_cards,omitempty"`
}

// BillingDetails are the cardholder's billing name and address.
type BillingDetails struct {
	BillingFirstName   string   `json:"billing_first_name,omitempty"`
	BillingLastName    string   `json:"billing_last_name,omitempty"`
	BillingFirmName    string   `json:"billing_firm_name,omitempty"`
	BillingEmail       []string `json:"billing_email,omitempty"`
	BillingAddr1       string   `json:"billing_addr1,omitempty"`
	BillingAddr2       string   `json:"billing_addr2,omitempty"`
	BillingCity        string   `json:"billing_city,omitempty"`
	BillingState       string   `json:"billing_state,omitempty"`
	BillingZip         string   `json:"billing_zip,omitempty"`
	BillingZip4        string   `json:"billing_zip4,omitempty"`
	BillingCountry     string   `json:"billing_country,omitempty"`
	BillingCountryCode string   `json:"billing_country_code,omitempty"`
}

// BillingCard is a stored payment method as Qualpay returns it. CardNumber
// is masked ("411111xxxxxx1111"); the full number never leaves Qualpay.
type BillingCard struct {
	CardID     string `json:"card_id,omitempty"`
	CardNumber string `json:"card_number,omitempty"`
	ExpDate    string `json:"exp_date,omitempty"` // MMYY
	CardType   string `json:"card_type,omitempty"`
	Primary    bool   `json:"primary"`
	// VerifiedDate is set by Qualpay when the card was verified.
	VerifiedDate string `json:"verified_date,omitempty"`
	BillingDetails
}

// CardInput adds or updates a payment method by token. There is deliberately
// no card_number field: cards enter the vault through Qualpay Embedded Fields,
// which returns the card_id used here, so payrecon stays out of PCI scope.
type CardInput struct {
	CardID  string `json:"card_id"`
	ExpDate string `json:"exp_date,omitempty"` // MMYY
	BillingDetails
	Verify  bool `json:"verify,omitempty"`
	Primary bool `json:"primary,omitempty"`
}

// ShippingFields are a shipping address's fields.
type ShippingFields struct {
	FirstName   string `json:"shipping_first_name,omitempty"`
	LastName    string `json:"shipping_last_name,omitempty"`
	FirmName    string `json:"shipping_firm_name,omitempty"`
	Addr1       string `json:"shipping_addr1,omitempty"`
	Addr2       string `json:"shipping_addr2,omitempty"`
	City        string `json:"shipping_city,omitempty"`
	State       string `json:"shipping_state,omitempty"`
	Zip         string `json:"shipping_zip,omitempty"`
	Zip4        string `json:"shipping_zip4,omitempty"`
	Country     string `json:"shipping_country,omitempty"`
	CountryCode string `json:"shipping_country_code,omitempty"`
}

// ShippingAddress is a stored shipping address.
type ShippingAddress struct {
	ShippingID int64 `json:"shipping_id"`
	ShippingFields
	Primary bool `json:"primary"`
}

// ShippingAddressInput adds or updates a shipping address (first and last
// name are required by Qualpay).
type ShippingAddressInput struct {
	ShippingFields
	Primary bool `json:"primary,omitempty"`
}

// CustomerInput creates a customer. With CustomerID empty, Qualpay generates
// one (auto_generate_customer_id).
type CustomerInput struct {
	CustomerID             string                 `json:"customer_id,omitempty"`
	AutoGenerateCustomerID bool                   `json:"auto_generate_customer_id,omitempty"`
	FirstName              string                 `json:"customer_first_name,omitempty"`
	LastName               string                 `json:"customer_last_name,omitempty"`
	FirmName               string                 `json:"customer_firm_name,omitempty"`
	Phone                  string                 `json:"customer_phone,omitempty"`
	Email                  string                 `json:"customer_email,omitempty"`
	ReferenceID            string                 `json:"reference_id,omitempty"`
	Comments               string                 `json:"comments,omitempty"`
	DeveloperID            string                 `json:"developer_id,omitempty"`
	ShippingAddresses      []ShippingAddressInput `json:"shipping_addresses,omitempty"`
	BillingCards           []CardInput            `json:"billing_cards,omitempty"`
}

// CustomerUpdate is a PUT on a customer. Nil fields are left alone; a set
// pointer (even to "") is sent. Qualpay REPLACES array fields: a non-nil
// ShippingAddresses or BillingCards must hold the complete new list, so
// partial edits fetch the customer, merge and send whole arrays.
type CustomerUpdate struct {
	FirstName         *string                 `json:"customer_first_name,omitempty"`
	LastName          *string                 `json:"customer_last_name,omitempty"`
	FirmName          *string                 `json:"customer_firm_name,omitempty"`
	Phone             *string                 `json:"customer_phone,omitempty"`
	Email             *string                 `json:"customer_email,omitempty"`
	ReferenceID       *string                 `json:"reference_id,omitempty"`
	Comments          *string                 `json:"comments,omitempty"`
	ShippingAddresses *[]ShippingAddressInput `json:"shipping_addresses,omitempty"`
	BillingCards      *[]CardInput            `json:"billing_cards,omitempty"`
}

// CustomerPage is one page of ListCustomers.
type CustomerPage struct {
	Customers    []Customer
	Page         int
	TotalPages   int
	TotalRecords int
}

// Compiled on first use, not during the Lambda cold start.
var customerIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`) })

// ValidCustomerID reports whether id fits Qualpay's customer_id: 1–32 letters
// and digits.
func ValidCustomerID(id string) bool { return customerIDRe().MatchString(id) }

func checkCustomerID(id string) error {
	if !ValidCustomerID(id) {
		return apperr.FieldErrors(map[string]string{"customer_id": "must be 1 to 32 letters and digits"})
	}
	return nil
}

func checkMerchant(merchantID int64) error {
	if merchantID <= 0 {
		return apperr.FieldErrors(map[string]string{"merchant_id": "must be a positive Qualpay merchant ID"})
	}
	return nil
}

func vaultPath(customerID string, rest string) string {
	return "/vault/customer/" + pathEscape(customerID) + rest
}

// customerCall runs a vault call whose response data is a customer.
func (cl *Client) customerCall(ctx context.Context, c call) (Customer, error) {
	c.vault = true
	return callData[Customer](ctx, cl, c)
}

// CreateCustomer adds a customer to the merchant's vault.
func (cl *Client) CreateCustomer(ctx context.Context, merchantID int64, in CustomerInput) (Customer, error) {
	if err := checkMerchant(merchantID); err != nil {
		return Customer{}, err
	}
	bad := map[string]string{}
	if in.CustomerID == "" {
		in.AutoGenerateCustomerID = true
	} else if !ValidCustomerID(in.CustomerID) {
		bad["customer_id"] = "must be 1 to 32 letters and digits"
	}
	if in.FirstName == "" {
		bad["customer_first_name"] = "is required"
	}
	if in.LastName == "" {
		bad["customer_last_name"] = "is required"
	}
	for i, c := range in.BillingCards {
		for k, v := range cardProblems(c, true) {
			bad["billing_cards["+strconv.Itoa(i)+"]."+k] = v
		}
	}
	for i, s := range in.ShippingAddresses {
		for k, v := range shippingProblems(s.ShippingFields) {
			bad["shipping_addresses["+strconv.Itoa(i)+"]."+k] = v
		}
	}
	if len(bad) > 0 {
		return Customer{}, apperr.FieldErrors(bad)
	}
	body := struct {
		CustomerInput
		MerchantID int64 `json:"merchant_id"`
	}{in, merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPost, route: "/vault/customer", path: "/vault/customer", body: body})
}

// GetCustomer reads one customer, with cards and shipping addresses.
func (cl *Client) GetCustomer(ctx context.Context, merchantID int64, customerID string) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID)); err != nil {
		return Customer{}, err
	}
	return cl.customerCall(ctx, call{method: http.MethodGet, route: "/vault/customer/{customer_id}",
		path: vaultPath(customerID, ""), query: merchantQuery(merchantID)})
}

// ListCustomers reads one page of the merchant's customers (Qualpay pages
// are zero-based; Count is 1–100).
func (cl *Client) ListCustomers(ctx context.Context, merchantID int64, p ListParams) (CustomerPage, error) {
	if err := checkMerchant(merchantID); err != nil {
		return CustomerPage{}, err
	}
	q, err := p.query()
	if err != nil {
		return CustomerPage{}, err
	}
	q.Set("merchant_id", strconv.FormatInt(merchantID, 10))
	var env envelope
	c := call{method: http.MethodGet, route: "/vault/customer", path: "/vault/customer", query: q, vault: true}
	if err := cl.do(ctx, c, &env); err != nil {
		return CustomerPage{}, err
	}
	items, err := decodeList[Customer](env.Data)
	if err != nil {
		return CustomerPage{}, upstreamDecodeError("GET /platform/vault/customer", 1, err)
	}
	return CustomerPage{Customers: items, Page: p.Page, TotalPages: deref(env.TotalPages), TotalRecords: deref(env.TotalRecords)}, nil
}

// UpdateCustomer sends a PUT (see CustomerUpdate for Qualpay's replace
// semantics on arrays). customer_id itself is immutable.
func (cl *Client) UpdateCustomer(ctx context.Context, merchantID int64, customerID string, in CustomerUpdate) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID)); err != nil {
		return Customer{}, err
	}
	bad := map[string]string{}
	if in.BillingCards != nil {
		for i, c := range *in.BillingCards {
			for k, v := range cardProblems(c, true) {
				bad["billing_cards["+strconv.Itoa(i)+"]."+k] = v
			}
		}
	}
	if in.ShippingAddresses != nil {
		for i, s := range *in.ShippingAddresses {
			for k, v := range shippingProblems(s.ShippingFields) {
				bad["shipping_addresses["+strconv.Itoa(i)+"]."+k] = v
			}
		}
	}
	if len(bad) > 0 {
		return Customer{}, apperr.FieldErrors(bad)
	}
	body := struct {
		CustomerUpdate
		MerchantID int64 `json:"merchant_id"`
	}{in, merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPut, route: "/vault/customer/{customer_id}",
		path: vaultPath(customerID, ""), body: body})
}

// DeleteCustomer deletes a customer. Qualpay also deletes every subscription
// of that customer, irreversibly: callers should check CustomerSubscriptions
// and confirm with their user first.
func (cl *Client) DeleteCustomer(ctx context.Context, merchantID int64, customerID string) error {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID)); err != nil {
		return err
	}
	var env envelope
	return cl.do(ctx, call{method: http.MethodDelete, route: "/vault/customer/{customer_id}",
		path: vaultPath(customerID, ""), query: merchantQuery(merchantID), vault: true}, &env)
}

// ListCards reads a customer's payment methods.
func (cl *Client) ListCards(ctx context.Context, merchantID int64, customerID string) ([]BillingCard, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID)); err != nil {
		return nil, err
	}
	var env envelope
	c := call{method: http.MethodGet, route: "/vault/customer/{customer_id}/billing",
		path: vaultPath(customerID, "/billing"), query: merchantQuery(merchantID), vault: true}
	if err := cl.do(ctx, c, &env); err != nil {
		return nil, err
	}
	var data struct {
		BillingCards []BillingCard `json:"billing_cards"`
	}
	if err := decodeData("GET /platform"+c.route, &env, &data); err != nil {
		return nil, err
	}
	return data.BillingCards, nil
}

// AddCard adds a tokenised payment method. Qualpay makes the first card the
// primary one.
func (cl *Client) AddCard(ctx context.Context, merchantID int64, customerID string, in CardInput) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), fieldsErr(cardProblems(in, true))); err != nil {
		return Customer{}, err
	}
	body := struct {
		CardInput
		MerchantID int64 `json:"merchant_id"`
	}{in, merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPost, route: "/vault/customer/{customer_id}/billing",
		path: vaultPath(customerID, "/billing"), body: body})
}

// UpdateCard updates a payment method (expiry, billing details). Qualpay
// expects the complete billing record: send every billing field, not a diff.
func (cl *Client) UpdateCard(ctx context.Context, merchantID int64, customerID string, in CardInput) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), fieldsErr(cardProblems(in, false))); err != nil {
		return Customer{}, err
	}
	body := struct {
		CardInput
		MerchantID int64 `json:"merchant_id"`
	}{in, merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPut, route: "/vault/customer/{customer_id}/billing",
		path: vaultPath(customerID, "/billing"), body: body})
}

// DeleteCard removes a payment method. Qualpay refuses while an active
// subscription uses the card; that surfaces as an apperr.Conflict.
func (cl *Client) DeleteCard(ctx context.Context, merchantID int64, customerID, cardID string) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), checkCardID(cardID)); err != nil {
		return Customer{}, err
	}
	body := cardRef{CardID: cardID, MerchantID: merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPut, route: "/vault/customer/{customer_id}/billing/delete",
		path: vaultPath(customerID, "/billing/delete"), body: body})
}

// SetPrimaryCard makes a payment method the customer's primary one (used for
// subscription payments).
func (cl *Client) SetPrimaryCard(ctx context.Context, merchantID int64, customerID, cardID string) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), checkCardID(cardID)); err != nil {
		return Customer{}, err
	}
	body := cardRef{CardID: cardID, MerchantID: merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPut, route: "/vault/customer/{customer_id}/billing/primary",
		path: vaultPath(customerID, "/billing/primary"), body: body})
}

type cardRef struct {
	CardID     string `json:"card_id"`
	MerchantID int64  `json:"merchant_id"`
}

// ListShippingAddresses reads a customer's shipping addresses.
func (cl *Client) ListShippingAddresses(ctx context.Context, merchantID int64, customerID string) ([]ShippingAddress, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID)); err != nil {
		return nil, err
	}
	var env envelope
	c := call{method: http.MethodGet, route: "/vault/customer/{customer_id}/shipping",
		path: vaultPath(customerID, "/shipping"), query: merchantQuery(merchantID), vault: true}
	if err := cl.do(ctx, c, &env); err != nil {
		return nil, err
	}
	var data struct {
		ShippingAddresses []ShippingAddress `json:"shipping_addresses"`
	}
	if err := decodeData("GET /platform"+c.route, &env, &data); err != nil {
		return nil, err
	}
	return data.ShippingAddresses, nil
}

// AddShippingAddress adds a shipping address; the response carries its shipping_id.
func (cl *Client) AddShippingAddress(ctx context.Context, merchantID int64, customerID string, in ShippingAddressInput) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), fieldsErr(shippingProblems(in.ShippingFields))); err != nil {
		return Customer{}, err
	}
	body := struct {
		ShippingAddressInput
		MerchantID int64 `json:"merchant_id"`
	}{in, merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPost, route: "/vault/customer/{customer_id}/shipping",
		path: vaultPath(customerID, "/shipping"), body: body})
}

// UpdateShippingAddress replaces one shipping address.
func (cl *Client) UpdateShippingAddress(ctx context.Context, merchantID int64, customerID string, shippingID int64, in ShippingAddressInput) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), checkShippingID(shippingID),
		fieldsErr(shippingProblems(in.ShippingFields))); err != nil {
		return Customer{}, err
	}
	body := struct {
		ShippingID int64 `json:"shipping_id"`
		ShippingAddressInput
		MerchantID int64 `json:"merchant_id"`
	}{shippingID, in, merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPut, route: "/vault/customer/{customer_id}/shipping",
		path: vaultPath(customerID, "/shipping"), body: body})
}

// DeleteShippingAddress removes one shipping address.
func (cl *Client) DeleteShippingAddress(ctx context.Context, merchantID int64, customerID string, shippingID int64) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), checkShippingID(shippingID)); err != nil {
		return Customer{}, err
	}
	return cl.customerCall(ctx, call{method: http.MethodDelete, route: "/vault/customer/{customer_id}/shipping/{id}",
		path: vaultPath(customerID, "/shipping/"+strconv.FormatInt(shippingID, 10)), query: merchantQuery(merchantID)})
}

// SetPrimaryShippingAddress makes a shipping address the default one.
func (cl *Client) SetPrimaryShippingAddress(ctx context.Context, merchantID int64, customerID string, shippingID int64) (Customer, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID), checkShippingID(shippingID)); err != nil {
		return Customer{}, err
	}
	body := struct {
		ShippingID int64 `json:"shipping_id"`
		MerchantID int64 `json:"merchant_id"`
	}{shippingID, merchantID}
	return cl.customerCall(ctx, call{method: http.MethodPut, route: "/vault/customer/{customer_id}/shipping/primary",
		path: vaultPath(customerID, "/shipping/primary"), body: body})
}

// Compiled on first use, not during the Lambda cold start.
var cardIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`) })

func checkCardID(id string) error {
	if !cardIDRe().MatchString(id) {
		return apperr.FieldErrors(map[string]string{"card_id": "must be a Qualpay card_id (up to 32 letters and digits)"})
	}
	return nil
}

func checkShippingID(id int64) error {
	if id <= 0 {
		return apperr.FieldErrors(map[string]string{"shipping_id": "must be a positive shipping address ID"})
	}
	return nil
}

// Compiled on first use, not during the Lambda cold start.
var expRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(0[1-9]|1[0-2])[0-9]{2}$`) })

// cardProblems checks a card before it is sent; adding needs a billing zip.
func cardProblems(c CardInput, adding bool) map[string]string {
	bad := map[string]string{}
	if !cardIDRe().MatchString(c.CardID) {
		bad["card_id"] = "must be a card_id token from Qualpay Embedded Fields"
	}
	if c.ExpDate != "" && !expRe().MatchString(c.ExpDate) {
		bad["exp_date"] = "must be MMYY"
	}
	if adding && c.BillingZip == "" {
		bad["billing_zip"] = "is required"
	}
	return bad
}

func shippingProblems(s ShippingFields) map[string]string {
	bad := map[string]string{}
	if s.FirstName == "" {
		bad["shipping_first_name"] = "is required"
	}
	if s.LastName == "" {
		bad["shipping_last_name"] = "is required"
	}
	return bad
}

func fieldsErr(bad map[string]string) error {
	if len(bad) == 0 {
		return nil
	}
	return apperr.FieldErrors(bad)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
