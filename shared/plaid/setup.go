package plaid

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	plaidgo "github.com/plaid/plaid-go/v20/plaid"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/plaiditems"
	"github.com/payrecon/payrecon/shared/secrets"
)

// Status is the masked read-back of a partner's Plaid credentials.
type Status struct {
	Provider     string    `json:"provider"`
	ClientID     string    `json:"client_id"`
	SecretLast4  string    `json:"secret_last4"`
	Environment  string    `json:"environment"`
	WebhookURL   string    `json:"webhook_url"`
	ConfiguredAt time.Time `json:"configured_at,omitempty"`
}

type storedCredentials struct {
	Credentials
	ConfiguredAt time.Time `json:"configured_at"`
}

func (c Credentials) validate() error {
	bad := map[string]string{}
	if c.ClientID == "" || len(c.ClientID) > 64 || strings.ContainsAny(c.ClientID, " \t\r\n") {
		bad["client_id"] = "required, at most 64 characters, no spaces"
	}
	if c.Secret == "" || len(c.Secret) > 128 || strings.ContainsAny(c.Secret, " \t\r\n") {
		bad["secret"] = "required, at most 128 characters, no spaces"
	}
	if c.Environment != Sandbox && c.Environment != Production {
		bad["environment"] = `must be "sandbox" or "production"`
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"))) || len(c.WebhookURL) > 500 {
			bad["webhook_url"] = "must be an https URL (http only for localhost)"
		}
	}
	if len(bad) > 0 {
		return apperr.FieldErrors(bad)
	}
	return nil
}

func mask(c storedCredentials, webhook string) Status {
	// webhook is "" when it cannot be derived yet (no request host).
	last4 := c.Secret
	if len(last4) > 4 {
		last4 = last4[len(last4)-4:]
	}
	return Status{Provider: "plaid", ClientID: c.ClientID, SecretLast4: last4, Environment: c.Environment, WebhookURL: webhook, ConfiguredAt: c.ConfiguredAt}
}

// Configure checks the keys with a harmless authenticated read
// (/institutions/get, one institution) and stores them.
func (s *Service) Configure(ctx context.Context, pid, host string, c Credentials) (Status, error) {
	if err := c.validate(); err != nil {
		return Status{}, err
	}
	req := plaidgo.NewInstitutionsGetRequest(1, 0, []plaidgo.CountryCode{plaidgo.COUNTRYCODE_US})
	if _, _, err := s.client(c).InstitutionsGet(ctx).InstitutionsGetRequest(*req).Execute(); err != nil {
		if pe, ok := plaidErr(err); ok && pe.ErrorType == "INVALID_INPUT" && strings.HasPrefix(pe.ErrorCode, "INVALID_API_KEYS") {
			return Status{}, apperr.New(apperr.Unprocessable, "plaid rejected these credentials (%s)", pe.ErrorCode)
		}
		return Status{}, s.upstream(ctx, "credentials check", err)
	}
	sc := storedCredentials{Credentials: c, ConfiguredAt: s.Now().UTC()}
	raw, _ := json.Marshal(sc)
	if err := s.Secrets.Put(ctx, s.credsName(pid), raw); err != nil {
		return Status{}, err
	}
	hook, _ := s.webhookURL(pid, c, host)
	return mask(sc, hook), nil
}

// Status reads the credentials back, masked.
func (s *Service) Status(ctx context.Context, pid, host string) (Status, error) {
	raw, err := s.Secrets.Get(ctx, s.credsName(pid))
	if errors.Is(err, secrets.ErrNotFound) {
		return Status{}, apperr.New(apperr.NotFound, "plaid is not configured")
	}
	if err != nil {
		return Status{}, err
	}
	var sc storedCredentials
	if err := json.Unmarshal(raw, &sc); err != nil {
		return Status{}, err
	}
	hook, _ := s.webhookURL(pid, sc.Credentials, host)
	return mask(sc, hook), nil
}

// Unconfigure deletes the credentials. Linked Items stay (their tokens are
// useless until keys are configured again).
func (s *Service) Unconfigure(ctx context.Context, pid string) error {
	if _, err := s.Status(ctx, pid, ""); err != nil {
		return err
	}
	return s.Secrets.Delete(ctx, s.credsName(pid))
}

// validHost accepts host[:port] made of DNS characters only (no regexp at cold start).
func validHost(h string) bool {
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || len(name) > 253 || (hasPort && (port == "" || len(port) > 5)) {
		return false
	}
	for _, r := range name {
		if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// webhookURL is where Plaid sends this partner's webhooks: POST /plaid with the
// partner named in the query (so its keys fetch the verification key). The
// base is the partner's webhook_url, else PUBLIC_BASE_URL, else https://<the
// request's host> (http for loopback, which only the local runner serves).
func (s *Service) webhookURL(pid string, c Credentials, requestHost string) (string, error) {
	base := c.WebhookURL
	switch {
	case base != "":
	case s.PublicBaseURL != "":
		base = strings.TrimRight(s.PublicBaseURL, "/") + "/plaid"
	case validHost(requestHost):
		u := url.URL{Scheme: "https", Host: requestHost, Path: "/plaid"}
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" {
			u.Scheme = "http"
		}
		base = u.String()
	default:
		return "", apperr.New(apperr.Invalid, "cannot derive the Plaid webhook URL from the request host; set webhook_url")
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "partner_id=" + url.QueryEscape(pid), nil
}

// LinkToken is the answer for Plaid Link in the partner's UI.
type LinkToken struct {
	LinkToken  string    `json:"link_token"`
	Expiration time.Time `json:"expiration"`
}

// CreateLinkToken calls /link/token/create for the company: the transactions
// product and this service's webhook. With itemID it is update mode (the user
// repairs a login; Plaid takes no products then).
func (s *Service) CreateLinkToken(ctx context.Context, pid, cid, host, clientName, itemID string) (LinkToken, error) {
	c, err := s.credentials(ctx, pid)
	if err != nil {
		return LinkToken{}, err
	}
	hook, err := s.webhookURL(pid, c, host)
	if err != nil {
		return LinkToken{}, err
	}
	if clientName == "" || len(clientName) > 30 {
		clientName = "payrecon" // Plaid shows it in Link; it caps the name at 30 characters
	}
	// client_user_id must be stable per end user and carry no PII: the company ID.
	req := plaidgo.NewLinkTokenCreateRequest(clientName, "en", []plaidgo.CountryCode{plaidgo.COUNTRYCODE_US}, *plaidgo.NewLinkTokenCreateRequestUser(pid + ":" + cid))
	req.SetWebhook(hook)
	if itemID != "" {
		it, err := s.Items.Get(ctx, pid, cid, itemID)
		if err != nil {
			return LinkToken{}, err
		}
		tok, err := s.Secrets.Get(ctx, s.tokenName(pid, it.ItemID))
		if err != nil {
			return LinkToken{}, err
		}
		req.SetAccessToken(string(tok))
	} else {
		req.SetProducts([]plaidgo.Products{plaidgo.PRODUCTS_TRANSACTIONS})
	}
	res, _, err := s.client(c).LinkTokenCreate(ctx).LinkTokenCreateRequest(*req).Execute()
	if err != nil {
		return LinkToken{}, s.upstream(ctx, "link token", err)
	}
	return LinkToken{LinkToken: res.GetLinkToken(), Expiration: res.GetExpiration()}, nil
}

// Exchange swaps Link's public_token for the Item's access_token, stores the
// token in Secrets Manager (never the table, never answered), records the Item
// with its institution and accounts, and queues its first sync.
func (s *Service) Exchange(ctx context.Context, pid, cid, publicToken string) (plaiditems.Item, error) {
	if publicToken == "" || len(publicToken) > 200 {
		return plaiditems.Item{}, apperr.FieldErrors(map[string]string{"public_token": "required, at most 200 characters"})
	}
	c, err := s.credentials(ctx, pid)
	if err != nil {
		return plaiditems.Item{}, err
	}
	api := s.client(c)
	ex, _, err := api.ItemPublicTokenExchange(ctx).ItemPublicTokenExchangeRequest(*plaidgo.NewItemPublicTokenExchangeRequest(publicToken)).Execute()
	if err != nil {
		return plaiditems.Item{}, s.upstream(ctx, "public token exchange", err)
	}
	token, itemID := ex.GetAccessToken(), ex.GetItemId()
	if err := s.Secrets.Put(ctx, s.tokenName(pid, itemID), []byte(token)); err != nil {
		return plaiditems.Item{}, err
	}
	it := plaiditems.Item{PartnerID: pid, CompanyID: cid, ItemID: itemID, Status: plaiditems.StatusActive, CreatedAt: s.Now().UTC()}
	ac, _, err := api.AccountsGet(ctx).AccountsGetRequest(*plaidgo.NewAccountsGetRequest(token)).Execute()
	if err != nil {
		return plaiditems.Item{}, s.upstream(ctx, "accounts", err)
	}
	item := ac.GetItem()
	it.InstitutionID = item.GetInstitutionId()
	for _, a := range ac.GetAccounts() {
		it.Accounts = append(it.Accounts, plaiditems.Account{ID: a.GetAccountId(), Name: a.GetName(), Mask: a.GetMask(), Type: string(a.GetType()), Subtype: string(a.GetSubtype())})
	}
	if err := s.Items.Put(ctx, it); err != nil {
		return plaiditems.Item{}, err
	}
	if err := s.Queue.Enqueue(ctx, plaiditems.SyncJob(it)); err != nil {
		// The schedule syncs it later (it has never synced).
		s.Log.WarnContext(ctx, "plaid first sync not queued", "item_id", itemID, "err", err)
	}
	return it, nil
}

// Remove calls /item/remove (Plaid stops billing and invalidates the token),
// then deletes the token and the Item record. Bank lines already pulled stay:
// they are the company's books.
func (s *Service) Remove(ctx context.Context, pid, cid, itemID string) error {
	it, err := s.Items.Get(ctx, pid, cid, itemID)
	if err != nil {
		return err
	}
	c, err := s.credentials(ctx, pid)
	if err != nil {
		return err
	}
	tok, err := s.Secrets.Get(ctx, s.tokenName(pid, itemID))
	if err != nil && !errors.Is(err, secrets.ErrNotFound) {
		return err
	}
	if err == nil {
		_, _, err = s.client(c).ItemRemove(ctx).ItemRemoveRequest(*plaidgo.NewItemRemoveRequest(string(tok))).Execute()
		// An Item Plaid no longer knows is already removed there.
		if pe, ok := plaidErr(err); err != nil && !(ok && pe.ErrorCode == "ITEM_NOT_FOUND") {
			return s.upstream(ctx, "item remove", err)
		}
		if err := s.Secrets.Delete(ctx, s.tokenName(pid, itemID)); err != nil && !errors.Is(err, secrets.ErrNotFound) {
			return err
		}
	}
	if err := s.Items.Delete(ctx, it); err != nil {
		return err
	}
	return exceptions.Resolve(ctx, s.Items.Store, s.events(), pid, cid, exceptionKey(itemID))
}
