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
	CreatedAt  time.Time     `dynamodbav:"created_at"`
	UpdatedAt  time.Time     `dynamodbav:"updated_at"`
}

// CardSummary is what a customer list shows of a card (no full number ever exists here).
type CardSummary struct {
	CardID       string `dynamodbav:"card_id" json:"card_id"`
	MaskedNumber string `dynamodbav:"masked_number" json:"masked_number,omitempty"`
	CardType     string `dynamodbav:"card_type" json:"card_type,omitempty"`
	ExpDate      string `dynamodbav:"exp_date" json:"exp_date,omitempty"`
	Primary      bool   `dynamodbav:"primary" json:"primary"`
}

func linkKey(pid, cid, customerID string) (string, string) {
	return store.CompanyPK(pid, cid), linkPrefix + customerID
}

// summarize copies Qualpay's record into the link's summary fields.
func (l *link) summarize(c qualpay.Customer, now time.Time) {
	l.FirstName, l.LastName, l.FirmName, l.Email = c.FirstName, c.LastName, c.FirmName, c.Email
	l.NameLC = strings.ToLower(strings.Join(strings.Fields(c.FirstName+" "+c.LastName+" "+c.FirmName), " "))
	l.EmailLC = strings.ToLower(c.Email)
	l.Cards = l.Cards[:0]
	for _, b := range c.BillingCards {
		l.Cards = append(l.Cards, CardSummary{CardID: b.CardID, MaskedNumber: b.CardNumber, CardType: b.CardType, ExpDate: b.ExpDate, Primary: b.Primary})
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
	l.summarize(c, s.Now().UTC())
	if err := s.Store.PutIf(ctx, l, "attribute_exists(pk) AND vault_status = :active",
		map[string]any{":active": statusActive}); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		s.Log.WarnContext(ctx, "vault summary refresh failed", "customer_id", l.CustomerID, "err", err)
	}
	return l
}
