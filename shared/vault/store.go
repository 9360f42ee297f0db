package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/qualpay"
	"github.com/payrecon/payrecon/shared/store"
)

// Link states. A link is written "pending" before Qualpay is asked to create
// the customer and turned "active" after, so a crash in between leaves a
// marker that a retry of the same create completes instead of a Qualpay
// customer nobody knows about.
const (
	statusPending = "pending"
	statusActive  = "active"
)

const linkPrefix = "VAULTCUST#"

// link is our only record of a vault customer: which company owns which
// Qualpay customer_id, plus a non-sensitive summary for listing (names,
// email, masked cards and expiry). Qualpay stays the source of truth; the
// summary is refreshed whenever the customer is read or changed through us.
type link struct {
	store.Keys
	PartnerID  string        `dynamodbav:"partner_id"`
	CompanyID  string        `dynamodbav:"company_id"`
	MerchantID int64         `dynamodbav:"merchant_id"`
	CustomerID string        `dynamodbav:"customer_id"`
	Status     string        `dynamodbav:"vault_status"`
	FirstName  string        `dynamodbav:"first_name"`
	LastName   string        `dynamodbav:"last_name"`
	FirmName   string        `dynamodbav:"firm_name"`
	Email      string        `dynamodbav:"email"`
	NameLC     string        `dynamodbav:"name_lc"`  // lower-cased "first last firm", for ?name=
	EmailLC    string        `dynamodbav:"email_lc"` // lower-cased email, for ?email=
	Cards      []CardSummary `dynamodbav:"cards"`
	Addresses  int           `dynamodbav:"shipping_address_count"`
	// CardsIndexed: every card has its VAULTCARD# index item (links written
	// before the index existed get theirs on their next refresh).
	CardsIndexed bool      `dynamodbav:"cards_indexed"`
	CreatedAt    time.Time `dynamodbav:"created_at"`
	UpdatedAt    time.Time `dynamodbav:"updated_at"`
}

// CardSummary is what a customer list shows of a card (no full number ever exists here).
type CardSummary struct {
	CardID       string `dynamodbav:"card_id" json:"card_id"`
	MaskedNumber string `dynamodbav:"masked_number" json:"masked_number,omitempty"`
	CardType     string `dynamodbav:"card_type" json:"card_type,omitempty"`
	ExpDate      string `dynamodbav:"exp_date" json:"exp_date,omitempty"`
	Primary      bool   `dynamodbav:"primary" json:"primary"`
	// AccountUpdater is the last Account Updater reason code applied to the
	// card (201 new expiry, 202 new number, 203 closed, 204 contact cardholder).
	AccountUpdater string `dynamodbav:"au_reason,omitempty" json:"account_updater,omitempty"`
}

func linkKey(pid, cid, customerID string) (string, string) {
	return store.CompanyPK(pid, cid), linkPrefix + customerID
}

// summarize copies Qualpay's record into the link's summary fields.
func (l *link) summarize(c qualpay.Customer, now time.Time) {
	l.FirstName, l.LastName, l.FirmName, l.Email = c.FirstName, c.LastName, c.FirmName, c.Email
	l.NameLC = strings.ToLower(strings.Join(strings.Fields(c.FirstName+" "+c.LastName+" "+c.FirmName), " "))
	l.EmailLC = strings.ToLower(c.Email)
	reasons := map[string]string{}
	for _, cs := range l.Cards {
		reasons[cs.CardID] = cs.AccountUpdater
	}
	l.Cards = make([]CardSummary, 0, len(c.BillingCards))
	for _, b := range c.BillingCards {
		l.Cards = append(l.Cards, CardSummary{CardID: b.CardID, MaskedNumber: b.CardNumber, CardType: b.CardType, ExpDate: b.ExpDate,
			Primary: b.Primary, AccountUpdater: reasons[b.CardID]})
	}
	l.Addresses = len(c.ShippingAddresses)
	l.UpdatedAt = now
}

// getLink reads the active link of a customer in the current merchant's vault.
// Anything else (absent, pending, another merchant linked earlier) is a 404,
// so a company never reaches a customer it did not create.
func (s *Service) getLink(ctx context.Context, sc scope, customerID string) (link, error) {
	var l link
	pk, sk := linkKey(sc.pid, sc.cid, customerID)
	if err := s.Store.Get(ctx, pk, sk, &l); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return link{}, notFound()
		}
		return link{}, fmt.Errorf("read vault customer: %w", err)
	}
	if l.Status != statusActive || l.MerchantID != sc.merchant {
		return link{}, notFound()
	}
	return l, nil
}

func notFound() error { return apperr.New(apperr.NotFound, "customer not found") }

// refresh stores a new summary after a read or change. It is best effort:
// the vault call succeeded and Qualpay holds the truth, so a failed refresh
// is logged, not returned.
func (s *Service) refresh(ctx context.Context, l link, c qualpay.Customer) link {
	known := make(map[string]bool, len(l.Cards))
	for _, cs := range l.Cards {
		known[cs.CardID] = true
	}
	l.summarize(c, s.Now().UTC())
	indexed := true
	for _, cs := range l.Cards {
		if !known[cs.CardID] || !l.CardsIndexed {
			indexed = s.indexCard(ctx, l, cs.CardID) && indexed
		}
	}
	l.CardsIndexed = indexed // a failed index write is retried on the next refresh
	if err := s.Store.PutIf(ctx, l, "attribute_exists(pk) AND vault_status = :active",
		map[string]any{":active": statusActive}); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		s.Log.WarnContext(ctx, "vault summary refresh failed", "customer_id", l.CustomerID, "err", err)
	}
	return l
}

const cardPrefix = "VAULTCARD#"

// cardIndex finds a card's customer: Qualpay's Account Updater reports name
// only the card_id. One small item per card the company stored through us.
type cardIndex struct {
	store.Keys
	PartnerID  string `dynamodbav:"partner_id"`
	CompanyID  string `dynamodbav:"company_id"`
	CustomerID string `dynamodbav:"customer_id"`
	CardID     string `dynamodbav:"card_id"`
}

func cardKey(pid, cid, cardID string) (string, string) {
	return store.CompanyPK(pid, cid), cardPrefix + cardID
}

// indexCard records which customer holds a card (best effort, like refresh:
// a missing entry only means an Account Updater change to that card is
// reported as unknown until a later refresh indexes it).
func (s *Service) indexCard(ctx context.Context, l link, cardID string) bool {
	it := cardIndex{PartnerID: l.PartnerID, CompanyID: l.CompanyID, CustomerID: l.CustomerID, CardID: cardID}
	it.PK, it.SK = cardKey(l.PartnerID, l.CompanyID, cardID)
	if err := s.Store.Put(ctx, it); err != nil {
		s.Log.WarnContext(ctx, "vault card index not written", "customer_id", l.CustomerID, "err", err)
		return false
	}
	return true
}

// cardCustomer is the customer holding a card of this company, "" if unknown.
func (s *Service) cardCustomer(ctx context.Context, sc scope, cardID string) (string, error) {
	var it cardIndex
	pk, sk := cardKey(sc.pid, sc.cid, cardID)
	if err := s.Store.Get(ctx, pk, sk, &it); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return "", fmt.Errorf("read vault card index: %w", err)
	}
	return it.CustomerID, nil
}
