// Package companies stores a partner's companies, their provider connections
// and the global account -> company routing that webhooks use. A provider
// account can belong to one company of one partner at a time.
package companies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// Company is one of a partner's users.
type Company struct {
	store.Keys
	ID         string    `dynamodbav:"company_id" json:"id"`
	PartnerID  string    `dynamodbav:"partner_id" json:"-"`
	ExternalID string    `dynamodbav:"external_id" json:"external_id"`
	Name       string    `dynamodbav:"name" json:"name"`
	CreatedAt  time.Time `dynamodbav:"created_at" json:"created_at"`
}

type extRef struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	CompanyID string `dynamodbav:"company_id"`
}

// Connection links a company to a provider account.
type Connection struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id" json:"-"`
	CompanyID string `dynamodbav:"company_id" json:"company_id"`
	Provider  string `dynamodbav:"provider" json:"provider"`
	AccountID string `dynamodbav:"account_id" json:"account_id"` // acct_… or Qualpay merchant ID
	Method    string `dynamodbav:"method" json:"method"`         // oauth | linked | onboarding
	// Status is "pending" for an account created by onboarding that Stripe has
	// not yet reported as able to charge or submitted; empty once active.
	Status      string    `dynamodbav:"status,omitempty" json:"status,omitempty"`
	Livemode    bool      `dynamodbav:"livemode" json:"livemode"`
	Scope       string    `dynamodbav:"scope,omitempty" json:"scope,omitempty"`
	ConnectedAt time.Time `dynamodbav:"connected_at" json:"connected_at"`
}

// Route is the global account -> company pointer (no partner prefix: webhooks
// on the shared URL arrive before we know the partner).
type Route struct {
	store.Keys
	Provider  string `dynamodbav:"provider"`
	AccountID string `dynamodbav:"account_id"`
	PartnerID string `dynamodbav:"partner_id"`
	CompanyID string `dynamodbav:"company_id"`
}

// Service is the company store.
type Service struct {
	Store *store.Store
	IDs   *ids.Generator
	Now   func() time.Time
	// RouteTTL caches found routes in memory (0: no cache), so a warm webhook
	// Lambda routes a known account without a DynamoDB round trip. Connect and
	// Disconnect through this Service drop the entry at once; a disconnect made
	// by another process applies here within RouteTTL.
	RouteTTL time.Duration

	routes sync.Map // RoutePK -> cachedRoute
}

type cachedRoute struct {
	r       Route
	expires time.Time
}

// ForgetRoute drops a cached route (a disconnect, a deauthorization).
func (s *Service) ForgetRoute(provider, accountID string) {
	s.routes.Delete(RoutePK(provider, accountID))
}

const companySKPrefix = "COMPANY#"

func companySK(id string) string { return companySKPrefix + id }
func extSK(ext string) string    { return "COMPANYEXT#" + ext }
func connSK(provider string) string {
	return "CONN#" + provider
}

// RoutePK is the routing key of a provider account.
func RoutePK(provider, accountID string) string {
	switch provider {
	case "stripe":
		return "STRIPEACCT#" + accountID
	default:
		return "QPMERCHANT#" + accountID
	}
}

// Create makes a company. The same external_id and name again returns the
// existing company with created=false; a different name is a 409.
func (s *Service) Create(ctx context.Context, partnerID, externalID, name string) (Company, bool, error) {
	externalID, name = strings.TrimSpace(externalID), strings.TrimSpace(name)
	bad := map[string]string{}
	if externalID == "" || len(externalID) > 128 {
		bad["external_id"] = "is required (1-128 characters)"
	}
	if name == "" || len(name) > 200 {
		bad["name"] = "is required (1-200 characters)"
	}
	if len(bad) > 0 {
		return Company{}, false, apperr.FieldErrors(bad)
	}
	c := Company{ID: s.IDs.ID("co"), PartnerID: partnerID, ExternalID: externalID, Name: name, CreatedAt: s.Now().UTC().Truncate(time.Millisecond)}
	c.PK, c.SK = store.PartnerPK(partnerID), companySK(c.ID)
	ref := extRef{PartnerID: partnerID, CompanyID: c.ID}
	ref.PK, ref.SK = store.PartnerPK(partnerID), extSK(externalID)
	pc, err := s.Store.PutInput(c, "", nil)
	if err != nil {
		return Company{}, false, err
	}
	pr, err := s.Store.PutInput(ref, "attribute_not_exists(pk)", nil)
	if err != nil {
		return Company{}, false, err
	}
	err = s.Store.Transact(ctx, []types.TransactWriteItem{store.TxPut(pr), store.TxPut(pc)})
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, store.ErrConditionFailed) {
		return Company{}, false, fmt.Errorf("create company: %w", err)
	}
	var existing extRef
	if err := s.Store.Get(ctx, store.PartnerPK(partnerID), extSK(externalID), &existing); err != nil {
		return Company{}, false, fmt.Errorf("read company by external id: %w", err)
	}
	got, err := s.Get(ctx, partnerID, existing.CompanyID)
	if err != nil {
		return Company{}, false, err
	}
	if got.Name != name {
		return Company{}, false, apperr.New(apperr.Conflict, "a company with external_id %q already exists with different details", externalID)
	}
	return got, false, nil
}

// Get returns a company of the partner; 404 otherwise (also for other partners' IDs).
func (s *Service) Get(ctx context.Context, partnerID, companyID string) (Company, error) {
	var c Company
	if !validID(companyID, "co_") {
		return Company{}, apperr.New(apperr.NotFound, "company not found")
	}
	if err := s.Store.Get(ctx, store.PartnerPK(partnerID), companySK(companyID), &c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Company{}, apperr.New(apperr.NotFound, "company not found")
		}
		return Company{}, err
	}
	return c, nil
}

// List returns companies newest first.
func (s *Service) List(ctx context.Context, partnerID string, limit int32, cursor string) ([]Company, string, error) {
	out := []Company{}
	next, err := s.Store.QueryPage(ctx, store.Query{PK: store.PartnerPK(partnerID), SKPrefix: companySKPrefix, Desc: true, Limit: limit, Cursor: cursor}, &out)
	return out, next, err
}

// Connect stores a connection and its routing atomically. Reconnecting the same
// account to the same company returns the existing connection. Conflicts:
// the company already has another account for the provider, or the account
// belongs to another company (of any partner).
func (s *Service) Connect(ctx context.Context, c Connection) (Connection, bool, error) {
	c.PK, c.SK = store.CompanyPK(c.PartnerID, c.CompanyID), connSK(c.Provider)
	r := Route{Provider: c.Provider, AccountID: c.AccountID, PartnerID: c.PartnerID, CompanyID: c.CompanyID}
	r.PK, r.SK = RoutePK(c.Provider, c.AccountID), "ROUTE"
	pc, err := s.Store.PutInput(c, "attribute_not_exists(pk)", nil)
	if err != nil {
		return Connection{}, false, err
	}
	pr, err := s.Store.PutInput(r, "attribute_not_exists(pk)", nil)
	if err != nil {
		return Connection{}, false, err
	}
	tx := []types.TransactWriteItem{store.TxPut(pc), store.TxPut(pr)}
	if c.Active() {
		// A pending (onboarding) connection is announced when it activates.
		ev, err := s.event(outbox.ConnectionCreated, c)
		if err != nil {
			return Connection{}, false, err
		}
		tx = append(tx, ev)
	}
	s.ForgetRoute(c.Provider, c.AccountID)
	err = s.Store.Transact(ctx, tx)
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, store.ErrConditionFailed) {
		return Connection{}, false, fmt.Errorf("connect: %w", err)
	}
	existing, gerr := s.Connection(ctx, c.PartnerID, c.CompanyID, c.Provider)
	if gerr == nil {
		if existing.AccountID == c.AccountID {
			return existing, false, nil
		}
		return Connection{}, false, apperr.New(apperr.Conflict, "company already has a %s connection (%s); disconnect it first", c.Provider, existing.AccountID)
	}
	return Connection{}, false, ErrAccountTaken
}

// ErrAccountTaken: the provider account is connected to another company.
var ErrAccountTaken = &apperr.Error{Code: apperr.Conflict, Message: "account_already_connected: this account is already connected to another company"}

// Connection returns the company's connection for a provider.
func (s *Service) Connection(ctx context.Context, partnerID, companyID, provider string) (Connection, error) {
	var c Connection
	if err := s.Store.Get(ctx, store.CompanyPK(partnerID, companyID), connSK(provider), &c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Connection{}, apperr.New(apperr.NotFound, "company has no %s connection", provider)
		}
		return Connection{}, err
	}
	return c, nil
}

// Connections lists a company's connections.
func (s *Service) Connections(ctx context.Context, partnerID, companyID string) ([]Connection, error) {
	out := []Connection{}
	_, err := s.Store.QueryPage(ctx, store.Query{PK: store.CompanyPK(partnerID, companyID), SKPrefix: "CONN#"}, &out)
	return out, err
}

// Disconnect removes the connection and its routing atomically and returns what
// was removed; 404 when there was none (so a second call is a clean 404).
func (s *Service) Disconnect(ctx context.Context, partnerID, companyID, provider string) (Connection, error) {
	c, err := s.Connection(ctx, partnerID, companyID, provider)
	if err != nil {
		return Connection{}, err
	}
	tx := []types.TransactWriteItem{
		s.Store.TxDelete(c.PK, c.SK, "account_id = :a"),
		s.Store.TxDelete(RoutePK(provider, c.AccountID), "ROUTE", ""),
	}
	tx[0].Delete.ExpressionAttributeValues = map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: c.AccountID}}
	if c.Active() {
		// Only the delete of the connection as read announces it (a second
		// DELETE, a replayed deauthorization find nothing); a pending one
		// was never announced as created.
		ev, err := s.event(outbox.ConnectionRevoked, c)
		if err != nil {
			return Connection{}, err
		}
		tx = append(tx, ev)
	}
	s.ForgetRoute(provider, c.AccountID)
	err = s.Store.Transact(ctx, tx)
	s.ForgetRoute(provider, c.AccountID) // a lookup may have cached it meanwhile
	if errors.Is(err, store.ErrConditionFailed) {
		return Connection{}, apperr.New(apperr.NotFound, "company has no %s connection", provider)
	}
	return c, err
}

// StatusPending marks a connection whose account is still being onboarded.
const StatusPending = "pending"

// Active reports whether a connection counts as connected (not pending).
func (c Connection) Active() bool { return c.Status != StatusPending }

// Activate marks a pending connection of accountID active; it reports whether
// it changed anything (false when already active, or the connection is gone or
// now holds another account).
func (s *Service) Activate(ctx context.Context, partnerID, companyID, provider, accountID string) (bool, error) {
	c, err := s.Connection(ctx, partnerID, companyID, provider)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil || c.AccountID != accountID || c.Active() {
		return false, err
	}
	c.Status = ""
	// Conditional on the same pending account, so a disconnect racing this never comes back.
	in, err := s.Store.PutInput(c, "account_id = :a AND #st = :p", map[string]any{":a": accountID, ":p": StatusPending})
	if err != nil {
		return false, err
	}
	in.ExpressionAttributeNames = map[string]string{"#st": "status"} // a reserved word
	ev, err := s.event(outbox.ConnectionCreated, c)
	if err != nil {
		return false, err
	}
	err = s.Store.Transact(ctx, []types.TransactWriteItem{store.TxPut(in), ev})
	if errors.Is(err, store.ErrConditionFailed) {
		return false, nil
	}
	return err == nil, err
}

// event is a connection event with the connection as the API lists it; the
// object is the provider account (created and revoked of one account go out
// in order).
func (s *Service) event(typ string, c Connection) (types.TransactWriteItem, error) {
	return outbox.Emit(s.Store.Table, s.IDs, s.Now(), typ, c.PartnerID, c.CompanyID, c.AccountID, c)
}

// LookupRoute finds which partner and company own a provider account
// (read-only; used before a webhook signature can be checked).
func (s *Service) LookupRoute(ctx context.Context, provider, accountID string) (Route, error) {
	var r Route
	if accountID == "" || len(accountID) > 64 {
		return Route{}, apperr.New(apperr.NotFound, "unknown account")
	}
	pk := RoutePK(provider, accountID)
	if s.RouteTTL > 0 {
		if c, ok := s.routes.Load(pk); ok && s.Now().Before(c.(cachedRoute).expires) {
			return c.(cachedRoute).r, nil
		}
	}
	if err := s.Store.Get(ctx, pk, "ROUTE", &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Not cached: an account connected a moment later must route at once.
			return Route{}, apperr.New(apperr.NotFound, "unknown account")
		}
		return Route{}, err
	}
	if s.RouteTTL > 0 {
		s.routes.Store(pk, cachedRoute{r: r, expires: s.Now().Add(s.RouteTTL)})
	}
	return r, nil
}

func validID(id, prefix string) bool {
	if !strings.HasPrefix(id, prefix) || len(id) > 64 {
		return false
	}
	for _, r := range id[len(prefix):] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}
