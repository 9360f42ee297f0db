// Package plaidfake is a stateful stand-in for Plaid's API that checks every
// request and response against Plaid's OpenAPI (api/openapi.yaml in the
// plaid-go module) with kin-openapi. It models what payrecon uses, as Plaid
// documents it:
//   - keys in PLAID-CLIENT-ID / PLAID-SECRET headers; wrong keys → INVALID_API_KEYS
//     (https://plaid.com/docs/errors/invalid-input/#invalid_api_keys)
//   - /link/token/create, Link completing into a public_token, /item/public_token/exchange
//   - /transactions/sync pages over an Item's change log: count ≤ 500, has_more,
//     next_cursor; TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION when data changes
//     mid-update (https://plaid.com/docs/api/products/transactions/#transactionssync,
//     https://plaid.com/docs/errors/transactions/)
//   - Item errors (ITEM_LOGIN_REQUIRED answered by every product call,
//     https://plaid.com/docs/errors/item/#item_login_required), /item/remove
//   - /webhook_verification_key/get and webhooks signed with its own ES256 key:
//     a Plaid-Verification JWT with kid, iat and request_body_sha256
//     (https://plaid.com/docs/api/webhooks/webhook-verification/); a rotated
//     key keeps being served with expired_at set.
package plaidfake

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/golang-jwt/jwt/v5"
)

// Sink receives contract violations (a *testing.T).
type Sink interface {
	Errorf(format string, args ...any)
}

// Txn is a bank transaction on an Item (Plaid sign: positive = money out).
type Txn struct {
	ID, AccountID string
	Amount        string // decimal, e.g. "-3890.00"
	Date          string // YYYY-MM-DD
	Name          string
	Merchant      string
	Pending       bool
	PendingID     string // the pending transaction a posted one replaces
}

type change struct {
	kind string // added, modified, removed
	txn  Txn
}

type signingKey struct {
	kid       string
	key       *ecdsa.PrivateKey
	createdAt int64
	expiredAt *int64
}

type item struct {
	id, token, institution, webhook string
	accounts                        []string
	log                             []change
	complete                        int // log position of the last has_more=false answer
	mutate                          *Txn
	errCode                         string
	removed                         bool
}

// Fake is the Plaid stand-in (an http.Handler).
type Fake struct {
	ClientID, Secret string
	// Now is the fake's clock (iat of signed webhooks, created_at of keys).
	Now  func() time.Time
	sink Sink
	spec *Spec

	mu         sync.Mutex
	seq        int
	keys       []*signingKey // last is current
	linkTokens map[string]string
	public     map[string]*item
	items      map[string]*item
	byToken    map[string]*item
	calls      []string
	violations []string
}

// New builds a fake accepting one client_id/secret pair.
func New(sink Sink, clientID, secret string) (*Fake, error) {
	sp, err := LoadSpec()
	if err != nil {
		return nil, err
	}
	f := &Fake{ClientID: clientID, Secret: secret, Now: time.Now, sink: sink, spec: sp,
		linkTokens: map[string]string{}, public: map[string]*item{}, items: map[string]*item{}, byToken: map[string]*item{}}
	if err := f.RotateKey(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Fake) id(prefix string) string {
	f.seq++
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s%d%s", prefix, f.seq, hex.EncodeToString(b))
}

// RotateKey retires the current signing key (Plaid keeps serving it with
// expired_at set) and signs from now on with a new one.
func (f *Fake) RotateKey() error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.Now().Unix()
	if n := len(f.keys); n > 0 {
		f.keys[n-1].expiredAt = &now
	}
	f.keys = append(f.keys, &signingKey{kid: f.id("kid-"), key: k, createdAt: now})
	return nil
}

// CompleteLink is the user finishing Plaid Link opened with linkToken at an
// institution: it returns the public_token Link hands to the partner's UI.
func (f *Fake) CompleteLink(linkToken, institution string, accountIDs ...string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hook, ok := f.linkTokens[linkToken]
	if !ok {
		return "", fmt.Errorf("plaidfake: unknown link token")
	}
	if len(accountIDs) == 0 {
		accountIDs = []string{f.id("acc-")}
	}
	it := &item{id: f.id("item-"), token: "access-sandbox-" + f.id(""), institution: institution, webhook: hook, accounts: accountIDs}
	pt := "public-sandbox-" + f.id("")
	f.public[pt] = it
	return pt, nil
}

// Add appends transactions to an Item's log as added (or modified when the ID exists).
func (f *Fake) Add(itemID string, txns ...Txn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[itemID]
	seen := map[string]bool{}
	for _, c := range it.log {
		seen[c.txn.ID] = c.kind != "removed"
	}
	for _, t := range txns {
		kind := "added"
		if seen[t.ID] {
			kind = "modified"
		}
		seen[t.ID] = true
		it.log = append(it.log, change{kind: kind, txn: t})
	}
}

// Remove appends removals.
func (f *Fake) Remove(itemID string, ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[itemID]
	for _, id := range ids {
		it.log = append(it.log, change{kind: "removed", txn: Txn{ID: id}})
	}
}

// MutateDuringPagination makes the Item's data change while a client is part
// way through an update: the next /transactions/sync call with a cursor past
// the update's first page appends t (modified) and fails with
// TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION.
func (f *Fake) MutateDuringPagination(itemID string, t Txn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[itemID].mutate = &t
}

// SetItemError makes every product call on the Item fail with code (an ITEM_ERROR).
func (f *Fake) SetItemError(itemID, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[itemID].errCode = code
}

// Removed reports whether /item/remove was called for the Item.
func (f *Fake) Removed(itemID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[itemID]
	return it != nil && it.removed
}

// WebhookURL is the webhook the Item's link token named.
func (f *Fake) WebhookURL(itemID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.items[itemID].webhook
}

// Calls lists the operations served, in order ("/transactions/sync", …).
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Violations lists contract violations seen (also sent to the sink).
func (f *Fake) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.violations...)
}

func (f *Fake) violation(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.mu.Lock()
	f.violations = append(f.violations, msg)
	f.mu.Unlock()
	f.sink.Errorf("plaidfake: %s", msg)
}

// plaidError is Plaid's error object (https://plaid.com/docs/errors/).
func (f *Fake) plaidError(typ, code, msg string) (int, any) {
	return http.StatusBadRequest, map[string]any{
		"error_type": typ, "error_code": code, "error_message": msg, "display_message": nil,
		"request_id": f.id("req-"), "causes": []any{}, "status": 400,
		"documentation_url": "https://plaid.com/docs/errors/", "suggested_action": nil,
	}
}

// ServeHTTP validates the request, serves it, and validates the response.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	vr := r.Clone(r.Context())
	vr.URL = &url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := f.spec.Router.FindRoute(vr)
	if err != nil {
		f.violation("%s %s: no such operation in the spec (%v)", r.Method, r.URL.Path, err)
		http.NotFound(w, r)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		f.violation("%s request: %v", r.URL.Path, oneLine(err))
		status, resp := f.plaidError("INVALID_REQUEST", "INVALID_FIELD", "request does not match the API")
		f.write(w, r, in, status, resp)
		return
	}
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	var status int
	var resp any
	f.mu.Lock()
	f.calls = append(f.calls, r.URL.Path)
	// Keys may come in headers or the body (both are documented).
	cid, sec := r.Header.Get("PLAID-CLIENT-ID"), r.Header.Get("PLAID-SECRET")
	if v, ok := req["client_id"].(string); ok {
		cid = v
	}
	if v, ok := req["secret"].(string); ok {
		sec = v
	}
	if cid != f.ClientID || sec != f.Secret {
		status, resp = f.plaidError("INVALID_INPUT", "INVALID_API_KEYS", "invalid client_id or secret provided")
	} else {
		status, resp = f.serve(r.URL.Path, req)
	}
	f.mu.Unlock()
	f.write(w, r, in, status, resp)
}

func (f *Fake) write(w http.ResponseWriter, r *http.Request, in *openapi3filter.RequestValidationInput, status int, resp any) {
	out, err := json.Marshal(resp)
	if err != nil {
		f.violation("encode response: %v", err)
		status, out = http.StatusInternalServerError, []byte(`{}`)
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	if resps := in.Route.Operation.Responses; status != http.StatusOK && resps.Status(status) == nil && resps.Default() == nil {
		// Most operations declare only their 200; Plaid answers errors with
		// its error object (https://plaid.com/docs/errors/), checked against
		// the document's PlaidError schema.
		var v any
		_ = json.Unmarshal(out, &v)
		if err := f.spec.Doc.Components.Schemas["PlaidError"].Value.VisitJSON(v); err != nil {
			f.violation("%s error response %d: %v", r.URL.Path, status, oneLine(err))
		}
	} else {
		rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: hdr,
			Body: io.NopCloser(bytes.NewReader(out)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		if err := openapi3filter.ValidateResponse(context.WithoutCancel(r.Context()), rin); err != nil {
			f.violation("%s response %d: %v", r.URL.Path, status, oneLine(err))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " | ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// token finds the Item of an access_token, or the Plaid error to answer.
func (f *Fake) token(req map[string]any, product bool) (*item, int, any) {
	tok, _ := req["access_token"].(string)
	it := f.byToken[tok]
	if it == nil || it.removed {
		s, r := f.plaidError("INVALID_INPUT", "INVALID_ACCESS_TOKEN", "could not find matching access token")
		return nil, s, r
	}
	if product && it.errCode != "" {
		s, r := f.plaidError("ITEM_ERROR", it.errCode, "the login details of this item have changed")
		return nil, s, r
	}
	return it, 0, nil
}

func (f *Fake) serve(path string, req map[string]any) (int, any) {
	rid := f.id("req-")
	switch path {
	case "/institutions/get":
		return 200, map[string]any{"institutions": []any{map[string]any{
			"institution_id": "ins_109508", "name": "First Platypus Bank", "country_codes": []string{"US"},
			"products": []string{"transactions"}, "routing_numbers": []string{}, "oauth": false,
		}}, "total": 1, "request_id": rid}
	case "/link/token/create":
		lt := "link-sandbox-" + f.id("")
		hook, _ := req["webhook"].(string)
		f.linkTokens[lt] = hook
		return 200, map[string]any{"link_token": lt, "expiration": f.Now().UTC().Add(4 * time.Hour).Format(time.RFC3339), "request_id": rid}
	case "/item/public_token/exchange":
		pt, _ := req["public_token"].(string)
		it := f.public[pt]
		if it == nil {
			return f.plaidError("INVALID_INPUT", "INVALID_PUBLIC_TOKEN", "could not find matching public token")
		}
		delete(f.public, pt) // single use
		f.items[it.id], f.byToken[it.token] = it, it
		return 200, map[string]any{"access_token": it.token, "item_id": it.id, "request_id": rid}
	case "/accounts/get":
		it, s, e := f.token(req, true)
		if it == nil {
			return s, e
		}
		var accts []any
		for i, a := range it.accounts {
			accts = append(accts, map[string]any{
				"account_id": a, "name": fmt.Sprintf("Checking %d", i+1), "official_name": nil, "mask": fmt.Sprintf("%04d", i),
				"type": "depository", "subtype": "checking",
				"balances": map[string]any{"available": 100.0, "current": 110.0, "limit": nil, "iso_currency_code": "USD", "unofficial_currency_code": nil},
			})
		}
		return 200, map[string]any{"accounts": accts, "request_id": rid, "item": map[string]any{
			"item_id": it.id, "institution_id": it.institution, "webhook": it.webhook, "error": nil,
			"available_products": []string{}, "billed_products": []string{"transactions"}, "products": []string{"transactions"},
			"consent_expiration_time": nil, "update_type": "background",
		}}
	case "/item/remove":
		it, s, e := f.token(req, false)
		if it == nil {
			return s, e
		}
		it.removed = true
		return 200, map[string]any{"request_id": rid}
	case "/transactions/sync":
		return f.sync(req, rid)
	case "/webhook_verification_key/get":
		kid, _ := req["key_id"].(string)
		for _, k := range f.keys {
			if k.kid == kid {
				return 200, map[string]any{"key": jwk(k), "request_id": rid}
			}
		}
		return f.plaidError("INVALID_INPUT", "INVALID_WEBHOOK_VERIFICATION_KEY_ID", "invalid key_id provided")
	}
	f.sink.Errorf("plaidfake: %s is valid per the spec but not modelled by the fake", path)
	return f.plaidError("API_ERROR", "INTERNAL_SERVER_ERROR", "not modelled")
}

func jwk(k *signingKey) map[string]any {
	pt, _ := k.key.PublicKey.Bytes() // 0x04 || X || Y
	var exp any
	if k.expiredAt != nil {
		exp = *k.expiredAt
	}
	return map[string]any{"alg": "ES256", "crv": "P-256", "kty": "EC", "use": "sig", "kid": k.kid,
		"x": base64.RawURLEncoding.EncodeToString(pt[1:33]), "y": base64.RawURLEncoding.EncodeToString(pt[33:65]),
		"created_at": k.createdAt, "expired_at": exp}
}

func (f *Fake) cursor(it *item, pos int) string { return "cur-" + it.id + "-" + strconv.Itoa(pos) }

func (f *Fake) sync(req map[string]any, rid string) (int, any) {
	it, s, e := f.token(req, true)
	if it == nil {
		return s, e
	}
	pos := 0
	if c, _ := req["cursor"].(string); c != "" {
		p, err := strconv.Atoi(strings.TrimPrefix(c, "cur-"+it.id+"-"))
		if err != nil || !strings.HasPrefix(c, "cur-"+it.id+"-") || p < 0 || p > len(it.log) {
			return f.plaidError("INVALID_INPUT", "INVALID_FIELD", "cursor is not valid for this item")
		}
		pos = p
	}
	if it.mutate != nil && pos != it.complete {
		// Mid-update: the data changed under the client.
		it.log = append(it.log, change{kind: "modified", txn: *it.mutate})
		it.mutate = nil
		return f.plaidError("TRANSACTIONS_ERROR", "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
			"Underlying transaction data changed since last page was fetched. Please restart pagination from last update.")
	}
	count := 100 // Plaid's default; at most 500
	if c, ok := req["count"].(float64); ok && c >= 1 {
		count = min(int(c), 500)
	}
	end := min(pos+count, len(it.log))
	added, modified, removed := []any{}, []any{}, []any{}
	for _, c := range it.log[pos:end] {
		switch c.kind {
		case "added":
			added = append(added, txnJSON(c.txn))
		case "modified":
			modified = append(modified, txnJSON(c.txn))
		case "removed":
			removed = append(removed, map[string]any{"transaction_id": c.txn.ID, "account_id": it.accounts[0]})
		}
	}
	more := end < len(it.log)
	if !more {
		it.complete = end
	}
	return 200, map[string]any{"added": added, "modified": modified, "removed": removed, "next_cursor": f.cursor(it, end),
		"has_more": more, "request_id": rid, "transactions_update_status": "HISTORICAL_UPDATE_COMPLETE", "accounts": []any{}}
}

func txnJSON(t Txn) map[string]any {
	var merchant, pendingID any
	if t.Merchant != "" {
		merchant = t.Merchant
	}
	if t.PendingID != "" {
		pendingID = t.PendingID
	}
	nulls := func(keys ...string) map[string]any {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = nil
		}
		return m
	}
	return map[string]any{
		"transaction_id": t.ID, "account_id": t.AccountID, "amount": json.Number(t.Amount), "iso_currency_code": "USD",
		"unofficial_currency_code": nil, "date": t.Date, "authorized_date": nil, "authorized_datetime": nil, "datetime": nil,
		"name": t.Name, "merchant_name": merchant, "pending": t.Pending, "pending_transaction_id": pendingID,
		"payment_channel": "other", "account_owner": nil, "category": nil, "category_id": nil, "transaction_code": nil,
		"location":     nulls("address", "city", "region", "postal_code", "country", "lat", "lon", "store_number"),
		"payment_meta": nulls("reference_number", "ppd_id", "payee", "by_order_of", "payer", "payment_method", "payment_processor", "reason"),
	}
}

// Webhook renders a webhook body and its Plaid-Verification JWT, signed now.
func (f *Fake) Webhook(payload map[string]any) (body []byte, jwt string) {
	body, _ = json.Marshal(payload)
	return body, f.Sign(body, f.Now())
}

// Sign signs body as Plaid does: ES256 JWT, kid header, iat and the body's SHA-256.
func (f *Fake) Sign(body []byte, iat time.Time) string {
	f.mu.Lock()
	n := len(f.keys) - 1
	f.mu.Unlock()
	return f.SignWith(n, body, iat)
}

// SignWith signs with the fake's nth key (0 is the first; rotated keys stay).
func (f *Fake) SignWith(n int, body []byte, iat time.Time) string {
	f.mu.Lock()
	k := f.keys[n]
	f.mu.Unlock()
	sum := sha256.Sum256(body)
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iat": iat.Unix(), "request_body_sha256": hex.EncodeToString(sum[:])})
	t.Header["kid"] = k.kid
	s, err := t.SignedString(k.key)
	if err != nil {
		f.sink.Errorf("plaidfake: sign: %v", err)
	}
	return s
}

// SyncUpdatesAvailable is TRANSACTIONS / SYNC_UPDATES_AVAILABLE for the Item.
func (f *Fake) SyncUpdatesAvailable(itemID string) map[string]any {
	return f.checkWebhook("SyncUpdatesAvailableWebhook", map[string]any{"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE",
		"item_id": itemID, "initial_update_complete": true, "historical_update_complete": true, "environment": "sandbox"})
}

// ItemError is ITEM / ERROR for the Item; it also puts the Item in that error.
func (f *Fake) ItemError(itemID, code string) map[string]any {
	f.SetItemError(itemID, code)
	_, e := f.plaidError("ITEM_ERROR", code, "the login details of this item have changed")
	return f.checkWebhook("ItemErrorWebhook", map[string]any{"webhook_type": "ITEM", "webhook_code": "ERROR", "item_id": itemID,
		"error": e, "environment": "sandbox"})
}

// checkWebhook validates a webhook body against its schema in the spec.
func (f *Fake) checkWebhook(schema string, body map[string]any) map[string]any {
	ref := f.spec.Doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		f.violation("webhook schema %s not in the spec", schema)
		return body
	}
	raw, _ := json.Marshal(body)
	var v any
	_ = json.Unmarshal(raw, &v)
	if err := ref.Value.VisitJSON(v); err != nil {
		f.violation("webhook %s: %v", schema, oneLine(err))
	}
	return body
}
