// Package vault fronts the Qualpay Customer Vault for a company's linked
// Qualpay merchant: customers, their cards (by Embedded Fields token only) and
// shipping addresses. Card data lives at Qualpay (PCI DSS Level 1); we keep
// only which company owns which customer_id and a non-sensitive summary for
// listing (see link). Every per-customer call first checks that link, so a
// customer of one company is invisible to every other company and partner.
package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/store"
)

// Qualpay is the part of the Qualpay client the vault uses (*qualpay.Client).
type Qualpay interface {
	CreateCustomer(ctx context.Context, merchantID int64, in qualpay.CustomerInput) (qualpay.Customer, error)
	GetCustomer(ctx context.Context, merchantID int64, customerID string) (qualpay.Customer, error)
	UpdateCustomer(ctx context.Context, merchantID int64, customerID string, in qualpay.CustomerUpdate) (qualpay.Customer, error)
	DeleteCustomer(ctx context.Context, merchantID int64, customerID string) error
	CustomerSubscriptions(ctx context.Context, merchantID int64, customerID string) ([]qualpay.Subscription, error)
	ListCards(ctx context.Context, merchantID int64, customerID string) ([]qualpay.BillingCard, error)
	AddCard(ctx context.Context, merchantID int64, customerID string, in qualpay.CardInput) (qualpay.Customer, error)
	UpdateCard(ctx context.Context, merchantID int64, customerID string, in qualpay.CardInput) (qualpay.Customer, error)
	DeleteCard(ctx context.Context, merchantID int64, customerID, cardID string) (qualpay.Customer, error)
	SetPrimaryCard(ctx context.Context, merchantID int64, customerID, cardID string) (qualpay.Customer, error)
	ListShippingAddresses(ctx context.Context, merchantID int64, customerID string) ([]qualpay.ShippingAddress, error)
	AddShippingAddress(ctx context.Context, merchantID int64, customerID string, in qualpay.ShippingAddressInput) (qualpay.Customer, error)
	UpdateShippingAddress(ctx context.Context, merchantID int64, customerID string, shippingID int64, in qualpay.ShippingAddressInput) (qualpay.Customer, error)
	DeleteShippingAddress(ctx context.Context, merchantID int64, customerID string, shippingID int64) (qualpay.Customer, error)
	SetPrimaryShippingAddress(ctx context.Context, merchantID int64, customerID string, shippingID int64) (qualpay.Customer, error)
	// Recurring billing (subscriptions.go).
	AddPlan(ctx context.Context, merchantID int64, in qualpay.PlanInput) (qualpay.Plan, error)
	Plans(ctx context.Context, merchantID int64) ([]qualpay.Plan, error)
	AddSubscription(ctx context.Context, merchantID int64, in qualpay.SubscriptionInput) (qualpay.Subscription, error)
	GetSubscription(ctx context.Context, merchantID, subscriptionID int64) (qualpay.Subscription, error)
	ChangeSubscription(ctx context.Context, merchantID, subscriptionID int64, customerID, action string) (qualpay.Subscription, error)
	SubscriptionTransactions(ctx context.Context, merchantID, subscriptionID int64) ([]qualpay.Transaction, error)
	// Account Updater (updater.go).
	AusDetailsAll(ctx context.Context, q qualpay.ReportQuery) ([]qualpay.AusDetail, error)
	AusSummaryPage(ctx context.Context, merchantID int64, page, count int) ([]qualpay.AusSummary, int, error)
	AusDetailPage(ctx context.Context, merchantID int64, page, count int) ([]qualpay.AusDetail, int, error)
}

// Companies resolves a partner's company and its Qualpay merchant.
type Companies interface {
	Get(ctx context.Context, partnerID, companyID string) (companies.Company, error)
	Connection(ctx context.Context, partnerID, companyID, provider string) (companies.Connection, error)
}

// Keys reads a partner's Qualpay credentials.
type Keys interface {
	QualpayKeys(ctx context.Context, partnerID string) (credentials.QualpayCredentials, error)
}

// Service is the vault.
type Service struct {
	Store     *store.Store
	Companies Companies
	Keys      Keys
	// Client builds a Qualpay client for a partner's credentials.
	Client func(credentials.QualpayCredentials) (Qualpay, error)
	// NewCustomerID makes a customer_id when the caller gives none (≤32 letters and digits).
	NewCustomerID func() string
	Now           func() time.Time
	Log           *slog.Logger
}

// scope is a resolved company: its partner, its merchant and a client.
type scope struct {
	pid, cid string
	merchant int64
	qp       Qualpay
}

// resolve checks the company belongs to the partner, has a Qualpay merchant
// and that the partner has Qualpay credentials.
func (s *Service) resolve(ctx context.Context, pid, cid string) (scope, error) {
	if _, err := s.Companies.Get(ctx, pid, cid); err != nil {
		return scope{}, err
	}
	conn, err := s.Companies.Connection(ctx, pid, cid, credentials.Qualpay)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return scope{}, apperr.New(apperr.Conflict,
				"company has no linked Qualpay merchant; link one with POST /v1/companies/%s/qualpay/link", cid)
		}
		return scope{}, err
	}
	mid, err := strconv.ParseInt(conn.AccountID, 10, 64)
	if err != nil || mid <= 0 {
		return scope{}, fmt.Errorf("company %s: stored Qualpay merchant %q is not a number", cid, conn.AccountID)
	}
	keys, err := s.Keys.QualpayKeys(ctx, pid)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return scope{}, apperr.New(apperr.Unprocessable, "configure Qualpay first: PUT /v1/integrations/qualpay")
		}
		return scope{}, err
	}
	qp, err := s.Client(keys)
	if err != nil {
		return scope{}, fmt.Errorf("qualpay client: %w", err)
	}
	return scope{pid: pid, cid: cid, merchant: mid, qp: qp}, nil
}

// CreateCustomer adds a customer to the company's vault.
func (s *Service) CreateCustomer(ctx context.Context, sc scope, in CustomerInput) (Customer, error) {
	if err := in.validate(); err != nil {
		return Customer{}, err
	}
	id := in.CustomerID
	if id == "" {
		id = s.NewCustomerID()
	}
	now := s.Now().UTC().Truncate(time.Millisecond)
	l := link{PartnerID: sc.pid, CompanyID: sc.cid, MerchantID: sc.merchant, CustomerID: id, Status: statusPending, CreatedAt: now, UpdatedAt: now}
	l.PK, l.SK = linkKey(sc.pid, sc.cid, id)
	resumed := false
	if err := s.Store.PutNew(ctx, l); err != nil {
		if !errors.Is(err, store.ErrConditionFailed) {
			return Customer{}, fmt.Errorf("reserve vault customer: %w", err)
		}
		var old link
		if err := s.Store.Get(ctx, l.PK, l.SK, &old); err != nil {
			return Customer{}, fmt.Errorf("read vault customer: %w", err)
		}
		switch {
		case old.Status == statusActive:
			return Customer{}, apperr.New(apperr.Conflict, "customer_id %s already exists", id)
		case old.MerchantID == sc.merchant:
			// An earlier create stopped after reserving (Qualpay's answer was
			// lost or we crashed): complete it.
			l, resumed = old, true
		default:
			// A reservation left for a merchant no longer linked: take it over.
			if err := s.Store.Put(ctx, l); err != nil {
				return Customer{}, fmt.Errorf("reserve vault customer: %w", err)
			}
		}
	}
	c, err := sc.qp.CreateCustomer(ctx, sc.merchant, in.qualpay(id))
	if apperr.Is(err, apperr.Conflict) && resumed {
		// Qualpay has it: the earlier attempt got that far. Adopt it only if
		// it is recognisably the same request.
		got, gerr := sc.qp.GetCustomer(ctx, sc.merchant, id)
		if gerr == nil && got.FirstName == in.FirstName && got.LastName == in.LastName {
			c, err = got, nil
		}
	}
	if err != nil {
		if refused(err) && !(resumed && apperr.Is(err, apperr.Conflict)) {
			// Qualpay definitely did not create it: free the id.
			if derr := s.Store.Delete(ctx, l.PK, l.SK); derr != nil {
				s.Log.WarnContext(ctx, "vault reservation not released", "customer_id", id, "err", derr)
			}
		}
		// Otherwise (timeout, 5xx) Qualpay may have created it: the
		// reservation stays so that retrying the same request adopts it.
		return Customer{}, err
	}
	l.Status = statusActive
	l.summarize(c, s.Now().UTC())
	l.CardsIndexed = true
	for _, cs := range l.Cards {
		l.CardsIndexed = s.indexCard(ctx, l, cs.CardID) && l.CardsIndexed
	}
	if err := s.Store.Put(ctx, l); err != nil {
		return Customer{}, fmt.Errorf("store vault customer: %w", err)
	}
	s.scheduleUpdater(ctx, sc) // its cards will get Account Updater results
	return view(c, l), nil
}

// GetCustomer reads the live record from Qualpay.
func (s *Service) GetCustomer(ctx context.Context, sc scope, customerID string) (Customer, error) {
	c, l, err := s.live(ctx, sc, customerID)
	if err != nil {
		return Customer{}, err
	}
	return view(c, l), nil
}

// live reads a customer of this company from Qualpay (never from a cache, so
// Account Updater changes show) and refreshes our listing summary with it.
func (s *Service) live(ctx context.Context, sc scope, customerID string) (qualpay.Customer, link, error) {
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return qualpay.Customer{}, link{}, err
	}
	c, err := sc.qp.GetCustomer(ctx, sc.merchant, customerID)
	if err != nil {
		return qualpay.Customer{}, link{}, err
	}
	return c, s.refresh(ctx, l, c), nil
}

// UpdateCustomer applies a partial update: it fetches the record, merges the
// changes and sends a PUT. Qualpay replaces array fields on PUT, so when
// shipping addresses change the whole merged list is sent; cards are never
// sent here (they change only through the card endpoints), so a customer
// update can never drop a card.
func (s *Service) UpdateCustomer(ctx context.Context, sc scope, customerID string, in CustomerPatch) (Customer, error) {
	if err := in.validate(); err != nil {
		return Customer{}, err
	}
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return Customer{}, err
	}
	cur, err := sc.qp.GetCustomer(ctx, sc.merchant, customerID)
	if err != nil {
		return Customer{}, err
	}
	up, err := in.merge(cur)
	if err != nil {
		return Customer{}, err
	}
	c, err := sc.qp.UpdateCustomer(ctx, sc.merchant, customerID, up)
	if err != nil {
		return Customer{}, err
	}
	return view(c, s.refresh(ctx, l, c)), nil
}

// DeleteCustomer deletes a customer. Qualpay deletes the customer's
// subscriptions with it, irreversibly, so a customer with live subscriptions
// needs confirm.
func (s *Service) DeleteCustomer(ctx context.Context, sc scope, customerID string, confirm bool) error {
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return err
	}
	subs, err := sc.qp.CustomerSubscriptions(ctx, sc.merchant, customerID)
	if err != nil {
		return err
	}
	live := 0
	for _, sub := range subs {
		if sub.Live() {
			live++
		}
	}
	if live > 0 && !confirm {
		return apperr.New(apperr.Conflict,
			"customer has %d active subscription(s); Qualpay deletes them with the customer and this cannot be undone. Repeat with ?confirm=true", live)
	}
	if err := sc.qp.DeleteCustomer(ctx, sc.merchant, customerID); err != nil && !apperr.Is(err, apperr.NotFound) {
		return err // not found: an earlier delete got this far; finish below
	}
	if err := s.Store.Delete(ctx, l.PK, l.SK); err != nil {
		return fmt.Errorf("delete vault customer: %w", err)
	}
	return nil
}

// ListCustomers pages through the company's customers (summaries).
func (s *Service) ListCustomers(ctx context.Context, sc scope, q ListQuery) ([]Summary, string, error) {
	filter := "vault_status = :active AND merchant_id = :mid"
	values := map[string]any{":active": statusActive, ":mid": sc.merchant}
	if q.Name != "" {
		filter += " AND contains(name_lc, :name)"
		values[":name"] = q.Name
	}
	if q.Email != "" {
		filter += " AND contains(email_lc, :email)"
		values[":email"] = q.Email
	}
	var links []link
	next, err := s.Store.QueryPage(ctx, store.Query{PK: store.CompanyPK(sc.pid, sc.cid), SKPrefix: linkPrefix,
		Limit: q.Limit, Cursor: q.Cursor, Filter: filter, Values: values}, &links)
	if err != nil {
		return nil, "", err
	}
	out := make([]Summary, 0, len(links))
	for _, l := range links {
		out = append(out, summary(l))
	}
	return out, next, nil
}

// ListCards reads the customer's cards live (Account Updater changes included).
func (s *Service) ListCards(ctx context.Context, sc scope, customerID string) ([]Card, error) {
	c, _, err := s.live(ctx, sc, customerID)
	if err != nil {
		return nil, err
	}
	return cardViews(c.BillingCards), nil
}

// AddCard stores a card by its Embedded Fields token.
func (s *Service) AddCard(ctx context.Context, sc scope, customerID string, in CardInput) (Card, error) {
	if err := in.validate(true); err != nil {
		return Card{}, err
	}
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return Card{}, err
	}
	c, err := sc.qp.AddCard(ctx, sc.merchant, customerID, in.qualpay(qualpay.BillingDetails{}))
	if err != nil {
		return Card{}, err
	}
	s.refresh(ctx, l, c)
	return findCard(c, in.CardID)
}

// UpdateCard changes a card's expiry or billing details. Qualpay wants the
// complete billing record, so the current one is fetched and merged.
func (s *Service) UpdateCard(ctx context.Context, sc scope, customerID, cardID string, in CardInput) (Card, error) {
	in.CardID = cardID
	if err := in.validate(false); err != nil {
		return Card{}, err
	}
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return Card{}, err
	}
	cur, err := sc.qp.GetCustomer(ctx, sc.merchant, customerID)
	if err != nil {
		return Card{}, err
	}
	old, err := findCard(cur, cardID)
	if err != nil {
		return Card{}, err
	}
	c, err := sc.qp.UpdateCard(ctx, sc.merchant, customerID, in.qualpay(old.Billing.qualpay()))
	if err != nil {
		return Card{}, err
	}
	s.refresh(ctx, l, c)
	return findCard(c, cardID)
}

// DeleteCard removes a card; Qualpay refuses (409) while a subscription uses it.
func (s *Service) DeleteCard(ctx context.Context, sc scope, customerID, cardID string) error {
	if err := checkCardID(cardID); err != nil {
		return err
	}
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return err
	}
	c, err := sc.qp.DeleteCard(ctx, sc.merchant, customerID, cardID)
	if err != nil {
		return err
	}
	s.refresh(ctx, l, c)
	return nil
}

// SetPrimaryCard makes a card the primary one.
func (s *Service) SetPrimaryCard(ctx context.Context, sc scope, customerID, cardID string) (Card, error) {
	if err := checkCardID(cardID); err != nil {
		return Card{}, err
	}
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return Card{}, err
	}
	c, err := sc.qp.SetPrimaryCard(ctx, sc.merchant, customerID, cardID)
	if err != nil {
		return Card{}, err
	}
	s.refresh(ctx, l, c)
	return findCard(c, cardID)
}

// ListAddresses reads the customer's shipping addresses.
func (s *Service) ListAddresses(ctx context.Context, sc scope, customerID string) ([]Address, error) {
	c, _, err := s.live(ctx, sc, customerID)
	if err != nil {
		return nil, err
	}
	return addressViews(c.ShippingAddresses), nil
}

// AddAddress adds a shipping address; the first one becomes primary.
func (s *Service) AddAddress(ctx context.Context, sc scope, customerID string, in AddressInput) (Address, error) {
	if err := in.validate(true); err != nil {
		return Address{}, err
	}
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return Address{}, err
	}
	before, err := sc.qp.ListShippingAddresses(ctx, sc.merchant, customerID)
	if err != nil {
		return Address{}, err
	}
	c, err := sc.qp.AddShippingAddress(ctx, sc.merchant, customerID, in.qualpay(qualpay.ShippingFields{}))
	if err != nil {
		return Address{}, err
	}
	s.refresh(ctx, l, c)
	// Qualpay answers with the whole customer: the new address is the one
	// whose shipping_id was not there before.
	known := map[int64]bool{}
	for _, a := range before {
		known[a.ShippingID] = true
	}
	for _, a := range c.ShippingAddresses {
		if !known[a.ShippingID] {
			return addressView(a), nil
		}
	}
	return Address{}, fmt.Errorf("qualpay: added shipping address missing from the response")
}

// UpdateAddress merges changes into a shipping address (Qualpay's PUT takes
// the complete address).
func (s *Service) UpdateAddress(ctx context.Context, sc scope, customerID string, shippingID int64, in AddressInput) (Address, error) {
	if err := in.validate(false); err != nil {
		return Address{}, err
	}
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return Address{}, err
	}
	cur, err := sc.qp.ListShippingAddresses(ctx, sc.merchant, customerID)
	if err != nil {
		return Address{}, err
	}
	old, ok := findAddress(cur, shippingID)
	if !ok {
		return Address{}, apperr.New(apperr.NotFound, "shipping address not found")
	}
	c, err := sc.qp.UpdateShippingAddress(ctx, sc.merchant, customerID, shippingID, in.qualpay(old.ShippingFields))
	if err != nil {
		return Address{}, err
	}
	s.refresh(ctx, l, c)
	a, ok := findAddress(c.ShippingAddresses, shippingID)
	if !ok {
		return Address{}, fmt.Errorf("qualpay: updated shipping address missing from the response")
	}
	return addressView(a), nil
}

// DeleteAddress removes a shipping address.
func (s *Service) DeleteAddress(ctx context.Context, sc scope, customerID string, shippingID int64) error {
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return err
	}
	c, err := sc.qp.DeleteShippingAddress(ctx, sc.merchant, customerID, shippingID)
	if err != nil {
		return err
	}
	s.refresh(ctx, l, c)
	return nil
}

// SetPrimaryAddress makes a shipping address the default one.
func (s *Service) SetPrimaryAddress(ctx context.Context, sc scope, customerID string, shippingID int64) (Address, error) {
	l, err := s.getLink(ctx, sc, customerID)
	if err != nil {
		return Address{}, err
	}
	c, err := sc.qp.SetPrimaryShippingAddress(ctx, sc.merchant, customerID, shippingID)
	if err != nil {
		return Address{}, err
	}
	s.refresh(ctx, l, c)
	a, ok := findAddress(c.ShippingAddresses, shippingID)
	if !ok {
		return Address{}, apperr.New(apperr.NotFound, "shipping address not found")
	}
	return addressView(a), nil
}

// refused reports whether Qualpay answered with a definite "no" (the request
// had no effect), as opposed to an outcome we could not observe.
func refused(err error) bool {
	switch apperr.CodeOf(err) {
	case apperr.Unprocessable, apperr.Conflict, apperr.NotFound, apperr.Invalid, apperr.Forbidden, apperr.RateLimited:
		return true
	}
	return false
}

func findCard(c qualpay.Customer, cardID string) (Card, error) {
	for _, b := range c.BillingCards {
		if b.CardID == cardID {
			return cardView(b), nil
		}
	}
	return Card{}, apperr.New(apperr.NotFound, "card not found")
}

func findAddress(list []qualpay.ShippingAddress, id int64) (qualpay.ShippingAddress, bool) {
	for _, a := range list {
		if a.ShippingID == id {
			return a, true
		}
	}
	return qualpay.ShippingAddress{}, false
}
