package qualpayfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon/shared/qualpay"
)

// Merchant is a merchant account the fake knows.
type Merchant struct {
	ID      int64
	DBAName string
}

type merchant struct {
	Merchant
	customers map[string]*customer
}

type customer struct {
	seq   int64
	base  qualpay.Customer // scalar fields only
	cards []*card
	ships []*shipAddr
}

type card struct {
	id, masked, cardType, exp string
	verified                  string
	billing                   qualpay.BillingDetails
	primary                   bool
}

type shipAddr struct {
	id      int64
	fields  qualpay.ShippingFields
	primary bool
}

type subscription struct {
	qualpay.Subscription
	seq int64
}

// AddMerchant registers a merchant reachable with the fake's key.
func (f *Fake) AddMerchant(m Merchant) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.merchants[m.ID]; !ok {
		f.merchants[m.ID] = &merchant{Merchant: m, customers: map[string]*customer{}}
	}
}

// Tokenize stands in for Qualpay Embedded Fields: it takes a test card
// number and expiry (MMYY) and returns the card_id token a browser would get.
// The number is kept only masked.
func (f *Fake) Tokenize(pan, exp string) (string, error) {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(pan)
	if !qualpay.LooksLikePAN(digits) || len(digits) < 13 || len(digits) > 19 {
		return "", fmt.Errorf("qualpayfake: not a valid test card number (%d digits)", len(digits))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d", digits, f.seq)))
	id := hex.EncodeToString(sum[:16])
	f.tokens[id] = card{id: id, masked: mask(digits), cardType: cardType(digits), exp: exp}
	return id, nil
}

// mask keeps the first six and last four digits, like Qualpay ("411111xxxxxx1111"),
// within the 16 characters Qualpay's card_number allows.
func mask(d string) string {
	if len(d) < 10 {
		return strings.Repeat("x", len(d))
	}
	mid := min(len(d), 16) - 10
	return d[:6] + strings.Repeat("x", mid) + d[len(d)-4:]
}

func cardType(d string) string {
	p2, _ := strconv.Atoi(d[:2])
	p4, _ := strconv.Atoi(d[:4])
	switch {
	case d[0] == '4':
		return "VS"
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return "MC"
	case p2 == 34 || p2 == 37:
		return "AM"
	case p4 == 6011 || p2 == 65 || (p4 >= 6440 && p4 <= 6499):
		return "DS"
	case p2 == 35:
		return "JC"
	default:
		return "VS"
	}
}

// AccountUpdate simulates Qualpay's Account Updater replacing a stored card's
// expiry (and optionally its number) behind our back.
func (f *Fake) AccountUpdate(merchantID int64, customerID, cardID, exp, newPAN string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.customerLocked(merchantID, customerID)
	if err != nil {
		return err
	}
	for _, cd := range c.cards {
		if cd.id == cardID {
			cd.exp = exp
			if newPAN != "" {
				cd.masked, cd.cardType = mask(newPAN), cardType(newPAN)
			}
			return nil
		}
	}
	return fmt.Errorf("qualpayfake: card %s not found", cardID)
}

// Customer returns a customer as Qualpay would (for assertions).
func (f *Fake) Customer(merchantID int64, customerID string) (qualpay.Customer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.customerLocked(merchantID, customerID)
	if err != nil {
		return qualpay.Customer{}, false
	}
	return c.view(merchantID), true
}

// AddSubscription seeds a recurring-billing subscription for an existing
// customer. An empty CardID uses the primary card; an empty Status is "A".
func (f *Fake) AddSubscription(merchantID int64, s qualpay.Subscription) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.customerLocked(merchantID, s.CustomerID)
	if err != nil {
		return 0, err
	}
	if s.CardID == "" {
		for _, cd := range c.cards {
			if cd.primary {
				s.CardID = cd.id
			}
		}
	}
	found := false
	for _, cd := range c.cards {
		found = found || cd.id == s.CardID
	}
	if !found {
		return 0, fmt.Errorf("qualpayfake: customer %s has no card %q", s.CustomerID, s.CardID)
	}
	if s.Status == "" {
		s.Status = qualpay.SubActive
	}
	f.seq++
	s.SubscriptionID = 1000 + f.seq
	s.MerchantID = merchantID
	f.subs[s.SubscriptionID] = &subscription{Subscription: s, seq: f.seq}
	return s.SubscriptionID, nil
}

// SetSubscriptionStatus changes a seeded subscription's status.
func (f *Fake) SetSubscriptionStatus(id int64, status string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subs[id]
	if !ok {
		return fmt.Errorf("qualpayfake: no subscription %d", id)
	}
	s.Status = status
	return nil
}

// Subscriptions lists a merchant's subscriptions (for assertions).
func (f *Fake) Subscriptions(merchantID int64) []qualpay.Subscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []qualpay.Subscription
	for _, s := range f.subs {
		if s.MerchantID == merchantID {
			out = append(out, s.Subscription)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SubscriptionID < out[j].SubscriptionID })
	return out
}

func (f *Fake) customerLocked(merchantID int64, customerID string) (*customer, error) {
	m, ok := f.merchants[merchantID]
	if !ok {
		return nil, fmt.Errorf("qualpayfake: merchant %d not found", merchantID)
	}
	c, ok := m.customers[customerID]
	if !ok {
		return nil, fmt.Errorf("qualpayfake: customer %s not found", customerID)
	}
	return c, nil
}

// view renders a customer as the spec's CustomerVault.
func (c *customer) view(merchantID int64) qualpay.Customer {
	v := c.base
	v.NodeID = merchantID
	v.BillingCards, v.ShippingAddresses = c.cardViews(), c.shipViews()
	for _, cd := range c.cards {
		if cd.primary {
			v.PrimaryCardNumber = cd.masked
		}
	}
	return v
}

func (c *customer) cardViews() []qualpay.BillingCard {
	out := make([]qualpay.BillingCard, 0, len(c.cards))
	for _, cd := range c.cards {
		out = append(out, qualpay.BillingCard{CardID: cd.id, CardNumber: cd.masked, ExpDate: cd.exp,
			CardType: cd.cardType, Primary: cd.primary, VerifiedDate: cd.verified, BillingDetails: cd.billing})
	}
	return out
}

func (c *customer) shipViews() []qualpay.ShippingAddress {
	out := make([]qualpay.ShippingAddress, 0, len(c.ships))
	for _, s := range c.ships {
		out = append(out, qualpay.ShippingAddress{ShippingID: s.id, ShippingFields: s.fields, Primary: s.primary})
	}
	return out
}

// Request bodies, named as in the spec. kin-openapi has already checked them
// against the schemas (undeclared fields included) before a handler runs.
type billingReq struct {
	CardNumber string `json:"card_number"`
	ExpDate    string `json:"exp_date"`
	CVV2       string `json:"cvv2"`
	TypeID     string `json:"type_id"`
	TrNumber   string `json:"tr_number"`
	DDANumber  string `json:"dda_number"`
	CardID     string `json:"card_id"`
	qualpay.BillingDetails
	Verify     bool  `json:"verify"`
	Primary    bool  `json:"primary"`
	MerchantID int64 `json:"merchant_id"`
}

type shippingReq struct {
	ShippingID int64 `json:"shipping_id"`
	qualpay.ShippingFields
	Primary    bool  `json:"primary"`
	MerchantID int64 `json:"merchant_id"`
}

type addCustomerReq struct {
	CustomerID        string        `json:"customer_id"`
	AutoGenerate      bool          `json:"auto_generate_customer_id"`
	FirstName         string        `json:"customer_first_name"`
	LastName          string        `json:"customer_last_name"`
	FirmName          string        `json:"customer_firm_name"`
	Phone             string        `json:"customer_phone"`
	Email             string        `json:"customer_email"`
	ReferenceID       string        `json:"reference_id"`
	Comments          string        `json:"comments"`
	DeveloperID       string        `json:"developer_id"`
	ShippingAddresses []shippingReq `json:"shipping_addresses"`
	BillingCards      []billingReq  `json:"billing_cards"`
	MerchantID        int64         `json:"merchant_id"`
}

type updateCustomerReq struct {
	FirstName         *string        `json:"customer_first_name"`
	LastName          *string        `json:"customer_last_name"`
	FirmName          *string        `json:"customer_firm_name"`
	Phone             *string        `json:"customer_phone"`
	Email             *string        `json:"customer_email"`
	ReferenceID       *string        `json:"reference_id"`
	Comments          *string        `json:"comments"`
	ShippingAddresses *[]shippingReq `json:"shipping_addresses"`
	BillingCards      *[]billingReq  `json:"billing_cards"`
	MerchantID        int64          `json:"merchant_id"`
}

var customerIDRe = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

func (f *Fake) merchantFor(id int64) (*merchant, string) {
	if id == 0 {
		return nil, "merchant_id is required when using an integrator security key"
	}
	m, ok := f.merchants[id]
	if !ok {
		return nil, fmt.Sprintf("Merchant %d not found or not accessible with this security key", id)
	}
	return m, ""
}

func queryMerchant(q url.Values) int64 {
	id, _ := strconv.ParseInt(q.Get("merchant_id"), 10, 64)
	return id
}

func (f *Fake) lookup(merchantID int64, customerID string) (*merchant, *customer, string) {
	m, msg := f.merchantFor(merchantID)
	if m == nil {
		return nil, nil, msg
	}
	c, ok := m.customers[customerID]
	if !ok {
		return m, nil, fmt.Sprintf("Customer %s not found", customerID)
	}
	return m, c, ""
}

func (f *Fake) addCustomer(_ map[string]string, _ url.Values, body []byte) (int, any) {
	var in addCustomerReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, msg := f.merchantFor(in.MerchantID)
	if m == nil {
		return bad("%s", msg)
	}
	switch {
	case in.CustomerID != "" && in.AutoGenerate:
		return bad("Send either customer_id or auto_generate_customer_id, not both")
	case in.CustomerID == "" && !in.AutoGenerate:
		return bad("customer_id is required")
	case in.CustomerID != "" && !customerIDRe.MatchString(in.CustomerID):
		return bad("Invalid customer_id: use up to 32 letters and digits")
	case in.FirstName == "" || in.LastName == "":
		return bad("customer_first_name and customer_last_name are required")
	}
	id := in.CustomerID
	if in.AutoGenerate {
		f.seq++
		id = fmt.Sprintf("QPC%07d", f.seq)
	}
	if _, dup := m.customers[id]; dup {
		return bad("Customer ID %s already exists", id)
	}
	f.seq++
	c := &customer{seq: f.seq, base: qualpay.Customer{CustomerID: id, FirstName: in.FirstName, LastName: in.LastName,
		FirmName: in.FirmName, Phone: in.Phone, Email: in.Email, ReferenceID: in.ReferenceID,
		Comments: in.Comments, DeveloperID: in.DeveloperID}}
	if msg := f.replaceCards(c, in.BillingCards, nil); msg != "" {
		return bad("%s", msg)
	}
	c.ships = f.newShips(in.ShippingAddresses)
	m.customers[id] = c
	return success(c.view(m.ID))
}

func (f *Fake) getCustomer(p map[string]string, q url.Values, _ []byte) (int, any) {
	m, c, msg := f.lookup(queryMerchant(q), p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	return success(c.view(m.ID))
}

func (f *Fake) browseCustomers(_ map[string]string, q url.Values, _ []byte) (int, any) {
	m, msg := f.merchantFor(queryMerchant(q))
	if m == nil {
		return bad("%s", msg)
	}
	rows := make([]row, 0, len(m.customers))
	for _, c := range m.customers {
		rows = append(rows, mustRow(c.view(m.ID), c.seq))
	}
	return f.browse("/vault/customer", rows, q, "customer_id", "desc")
}

func (f *Fake) updateCustomer(p map[string]string, _ url.Values, body []byte) (int, any) {
	// customer_id is not part of UpdateCustomerRequest: request validation
	// has already refused a body trying to change it.
	var in updateCustomerReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	b := c.base
	set(&b.FirstName, in.FirstName)
	set(&b.LastName, in.LastName)
	set(&b.FirmName, in.FirmName)
	set(&b.Phone, in.Phone)
	set(&b.Email, in.Email)
	set(&b.ReferenceID, in.ReferenceID)
	set(&b.Comments, in.Comments)
	if b.FirstName == "" || b.LastName == "" {
		return bad("customer_first_name and customer_last_name are required")
	}
	// Arrays are replaced wholesale, as Qualpay documents for this PUT.
	if in.BillingCards != nil {
		if msg := f.replaceCards(c, *in.BillingCards, f.liveCards(m.ID, c.base.CustomerID)); msg != "" {
			return bad("%s", msg)
		}
	}
	if in.ShippingAddresses != nil {
		c.ships = f.newShips(*in.ShippingAddresses)
	}
	c.base = b
	return success(c.view(m.ID))
}

func (f *Fake) deleteCustomer(p map[string]string, q url.Values, _ []byte) (int, any) {
	m, c, msg := f.lookup(queryMerchant(q), p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	delete(m.customers, c.base.CustomerID)
	// Qualpay deletes the customer's subscriptions with it.
	for id, s := range f.subs {
		if s.MerchantID == m.ID && s.CustomerID == c.base.CustomerID {
			delete(f.subs, id)
		}
	}
	return http.StatusOK, apiResponse{Code: 0, Message: "Success"}
}

// liveCards are the card IDs live subscriptions of a customer bill.
func (f *Fake) liveCards(merchantID int64, customerID string) map[string]bool {
	out := map[string]bool{}
	for _, s := range f.subs {
		if s.MerchantID == merchantID && s.CustomerID == customerID && s.Live() {
			out[s.CardID] = true
		}
	}
	return out
}

// replaceCards sets c's cards to list (add or PUT replace). Existing card IDs
// keep their card data; new ones must be tokens or full numbers (the spec
// allows numbers; payrecon's client never sends them). Cards that live
// subscriptions use may not disappear.
func (f *Fake) replaceCards(c *customer, list []billingReq, inUse map[string]bool) string {
	old := map[string]*card{}
	for _, cd := range c.cards {
		old[cd.id] = cd
	}
	var next []*card
	seen := map[string]bool{}
	for _, in := range list {
		cd, msg := f.cardFrom(in, old)
		if msg != "" {
			return msg
		}
		if seen[cd.id] {
			return "Duplicate card_id " + cd.id + " in billing_cards"
		}
		seen[cd.id] = true
		next = append(next, cd)
	}
	for id := range inUse {
		if old[id] != nil && !seen[id] {
			return "Payment method " + id + " is in use by an active subscription and cannot be deleted"
		}
	}
	var prev string
	for _, cd := range c.cards {
		if cd.primary {
			prev = cd.id
		}
	}
	for _, cd := range next {
		if cd.primary { // an explicit flag wins
			prev = cd.id
		}
	}
	c.cards = next
	setPrimaryCard(c, prev)
	return ""
}

// cardFrom builds a card from a request item.
func (f *Fake) cardFrom(in billingReq, existing map[string]*card) (*card, string) {
	if in.TypeID != "" || in.TrNumber != "" || in.DDANumber != "" {
		return nil, "ACH payment methods are not supported by this fake"
	}
	var cd card
	switch {
	case in.CardID != "" && existing[in.CardID] != nil:
		cd = *existing[in.CardID]
	case in.CardID != "":
		tok, ok := f.tokens[in.CardID]
		if !ok {
			return nil, "Invalid card_id: the token is unknown or has expired"
		}
		cd = tok
	case in.CardNumber != "":
		if !qualpay.LooksLikePAN(in.CardNumber) {
			return nil, "Invalid card_number"
		}
		f.seq++
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%d", in.CardNumber, f.seq)))
		cd = card{id: hex.EncodeToString(sum[:16]), masked: mask(in.CardNumber), cardType: cardType(in.CardNumber)}
	default:
		return nil, "card_id or card_number is required"
	}
	if in.ExpDate != "" {
		cd.exp = in.ExpDate
	}
	if cd.exp == "" {
		return nil, "exp_date is required"
	}
	cd.billing = in.BillingDetails
	cd.primary = in.Primary
	if in.Verify {
		cd.verified = f.now().UTC().Format("20060102150405")
	}
	return &cd, ""
}

// setPrimaryCard makes id the only primary card, or the first card when id
// is gone: Qualpay keeps exactly one primary card while any exist.
func setPrimaryCard(c *customer, id string) {
	found := false
	for _, cd := range c.cards {
		cd.primary = cd.id == id
		found = found || cd.primary
	}
	if !found && len(c.cards) > 0 {
		c.cards[0].primary = true
	}
}

func setPrimaryShip(c *customer, id int64) {
	found := false
	for _, s := range c.ships {
		s.primary = s.id == id
		found = found || s.primary
	}
	if !found && len(c.ships) > 0 {
		c.ships[0].primary = true
	}
}

func (f *Fake) newShips(list []shippingReq) []*shipAddr {
	out := make([]*shipAddr, 0, len(list))
	var primary int64
	for _, in := range list {
		f.seq++
		s := &shipAddr{id: 5000 + f.seq, fields: in.ShippingFields}
		if in.Primary {
			primary = s.id
		}
		out = append(out, s)
	}
	c := &customer{ships: out}
	setPrimaryShip(c, primary)
	return out
}

func (f *Fake) getBillingCards(p map[string]string, q url.Values, _ []byte) (int, any) {
	_, c, msg := f.lookup(queryMerchant(q), p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	return success(map[string]any{"billing_cards": c.cardViews()})
}

func (f *Fake) addBillingCard(p map[string]string, _ url.Values, body []byte) (int, any) {
	var in billingReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	for _, cd := range c.cards {
		if in.CardID != "" && cd.id == in.CardID {
			return bad("Payment method %s already exists for this customer", in.CardID)
		}
	}
	cd, msg := f.cardFrom(in, nil)
	if msg != "" {
		return bad("%s", msg)
	}
	c.cards = append(c.cards, cd)
	// The first payment method becomes the primary one.
	prev := ""
	for _, x := range c.cards {
		if x.primary && x != cd {
			prev = x.id
		}
	}
	if cd.primary || prev == "" {
		prev = cd.id
	}
	setPrimaryCard(c, prev)
	return success(c.view(m.ID))
}

func (f *Fake) findCard(c *customer, id string) *card {
	for _, cd := range c.cards {
		if cd.id == id {
			return cd
		}
	}
	return nil
}

func (f *Fake) updateBillingCard(p map[string]string, _ url.Values, body []byte) (int, any) {
	var in billingReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	cd := f.findCard(c, in.CardID)
	if cd == nil {
		return bad("Card %s not found", in.CardID)
	}
	if in.ExpDate != "" {
		cd.exp = in.ExpDate
	}
	cd.billing = in.BillingDetails // the complete billing record replaces the old one
	if in.Verify {
		cd.verified = f.now().UTC().Format("20060102150405")
	}
	if in.Primary {
		setPrimaryCard(c, cd.id)
	}
	return success(c.view(m.ID))
}

type cardRefReq struct {
	CardID     string `json:"card_id"`
	MerchantID int64  `json:"merchant_id"`
}

func (f *Fake) deleteBillingCard(p map[string]string, _ url.Values, body []byte) (int, any) {
	var in cardRefReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	if f.findCard(c, in.CardID) == nil {
		return bad("Card %s not found", in.CardID)
	}
	if f.liveCards(m.ID, c.base.CustomerID)[in.CardID] {
		return bad("Payment method %s is in use by an active subscription and cannot be deleted", in.CardID)
	}
	var prev string
	var keep []*card
	for _, cd := range c.cards {
		if cd.id != in.CardID {
			keep = append(keep, cd)
			if cd.primary {
				prev = cd.id
			}
		}
	}
	c.cards = keep
	setPrimaryCard(c, prev)
	return success(c.view(m.ID))
}

func (f *Fake) setPrimaryBillingCard(p map[string]string, _ url.Values, body []byte) (int, any) {
	var in cardRefReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	if f.findCard(c, in.CardID) == nil {
		return bad("Card %s not found", in.CardID)
	}
	setPrimaryCard(c, in.CardID)
	return success(c.view(m.ID))
}

func (f *Fake) getShippingAddresses(p map[string]string, q url.Values, _ []byte) (int, any) {
	_, c, msg := f.lookup(queryMerchant(q), p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	return success(map[string]any{"shipping_addresses": c.shipViews()})
}

func (f *Fake) addShippingAddress(p map[string]string, _ url.Values, body []byte) (int, any) {
	var in shippingReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	f.seq++
	s := &shipAddr{id: 5000 + f.seq, fields: in.ShippingFields}
	c.ships = append(c.ships, s)
	prev := int64(0)
	for _, x := range c.ships {
		if x.primary {
			prev = x.id
		}
	}
	if in.Primary || prev == 0 {
		prev = s.id
	}
	setPrimaryShip(c, prev)
	return success(c.view(m.ID))
}

func (f *Fake) findShip(c *customer, id int64) *shipAddr {
	for _, s := range c.ships {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (f *Fake) updateShippingAddress(p map[string]string, _ url.Values, body []byte) (int, any) {
	var in shippingReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	s := f.findShip(c, in.ShippingID)
	if s == nil {
		return bad("Shipping address %d not found", in.ShippingID)
	}
	s.fields = in.ShippingFields
	if in.Primary {
		setPrimaryShip(c, s.id)
	}
	return success(c.view(m.ID))
}

func (f *Fake) deleteShippingAddress(p map[string]string, q url.Values, _ []byte) (int, any) {
	m, c, msg := f.lookup(queryMerchant(q), p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	id, _ := strconv.ParseInt(p["id"], 10, 64)
	if f.findShip(c, id) == nil {
		return bad("Shipping address %d not found", id)
	}
	var prev int64
	var keep []*shipAddr
	for _, s := range c.ships {
		if s.id != id {
			keep = append(keep, s)
			if s.primary {
				prev = s.id
			}
		}
	}
	c.ships = keep
	setPrimaryShip(c, prev)
	return success(c.view(m.ID))
}

func (f *Fake) setPrimaryShippingAddress(p map[string]string, _ url.Values, body []byte) (int, any) {
	var in shippingReq
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request body")
	}
	m, c, msg := f.lookup(in.MerchantID, p["customer_id"])
	if c == nil {
		return bad("%s", msg)
	}
	if f.findShip(c, in.ShippingID) == nil {
		return bad("Shipping address %d not found", in.ShippingID)
	}
	setPrimaryShip(c, in.ShippingID)
	return success(c.view(m.ID))
}

func (f *Fake) getMerchantSettings(p map[string]string, _ url.Values, _ []byte) (int, any) {
	id, _ := strconv.ParseInt(p["mid"], 10, 64)
	m, msg := f.merchantFor(id)
	if m == nil {
		return bad("%s", msg)
	}
	return success(qualpay.Merchant{MerchantID: m.ID, DBAName: m.DBAName,
		PaymentsAccepted: []qualpay.PaymentAccepted{{CardType: "VS", Currency: []string{"840"}}, {CardType: "MC", Currency: []string{"840"}}},
		PaymentProfiles:  []qualpay.PaymentProfile{{ProfileID: fmt.Sprintf("%d00000840", m.ID), Label: "USD", Currency: "840", AutoCloseTime: 2100}}})
}

func (f *Fake) browseSubscriptions(_ map[string]string, q url.Values, _ []byte) (int, any) {
	m, msg := f.merchantFor(queryMerchant(q))
	if m == nil {
		return bad("%s", msg)
	}
	var rows []row
	for _, s := range f.subs {
		if s.MerchantID == m.ID {
			rows = append(rows, mustRow(s.Subscription, s.seq))
		}
	}
	return f.browse("/subscription", rows, q, "date_next", "desc")
}
