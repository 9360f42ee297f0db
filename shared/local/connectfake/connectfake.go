// Package connectfake is a stateful fake of Stripe Connect's money movements
// for separate charges and transfers: platform PaymentIntents and their
// charges, transfers with and without source_transaction, transfer reversals,
// and the balances Stripe keeps for the platform and each connected account.
// Everything else is proxied to an upstream (stripe-mock).
//
// The rules are Stripe's, as documented (not ours):
//   - A transfer with source_transaction draws on that charge, not on the
//     platform's available balance, and "the transfers of a charge can't add up
//     to more than the charge" (https://docs.stripe.com/connect/separate-charges-and-transfers#transfer-availability,
//     https://docs.stripe.com/api/transfers/create#create_transfer-source_transaction).
//   - A transfer without source_transaction needs the platform's available
//     balance; short, Stripe answers balance_insufficient
//     (https://docs.stripe.com/error-codes#balance-insufficient).
//   - "Transfer reversals add to the platform's balance and subtract from the
//     destination account's balance ... It is possible to reverse a
//     transfer_group transfer only if the destination account has enough
//     balance to cover the reversal" (https://docs.stripe.com/api/transfer_reversals).
//   - With separate charges and transfers, "your account balance is debited for
//     the cost of the Stripe fees, refunds, and chargebacks"
//     (https://docs.stripe.com/connect/separate-charges-and-transfers): refunds
//     and disputes take money from the platform, never from the transfers.
//   - Transfers need the destination's transfers capability
//     (https://docs.stripe.com/connect/account-capabilities#transfers).
//
// Simplifications, said plainly: a card charge's net is credited to the
// platform's pending balance and a bank debit's (ACH) net straight to its
// available balance once it succeeds (the clearing delay is collapsed); a
// transfer is credited to the destination's available balance at once; the fee
// is 2.9% + 30 minor units.
//
// Every request's form parameters and every object answered are checked
// against Stripe's OpenAPI document (spec3.json in the stripe-mock module).
package connectfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Account is a connected account's state.
type Account struct {
	ID           string
	Country      string
	Transfers    bool // capabilities.transfers active
	CardPayments bool // capabilities.card_payments active
	Available    map[string]int64
}

type charge struct {
	ID, PaymentIntent, Currency, Method string
	Amount, Fee, Refunded, Transferred  int64
	Metadata                            map[string]string
	TransferGroup                       string
}

type transfer struct {
	ID, Currency, Destination, Group, Source string
	Amount, Reversed                         int64
	Metadata                                 map[string]string
	Reversals                                []map[string]any
	Created                                  int64
}

type intent struct {
	ID, Currency, Group, OnBehalfOf, Status, Charge, Secret, Method string
	Amount                                                          int64
	Metadata                                                        map[string]string
	Created                                                         int64
}

type saved struct {
	status int
	body   []byte
	params string // the request's form, to refuse the key with other parameters
}

// Fake is the Connect fake; safe for concurrent use.
type Fake struct {
	upstream http.Handler
	spec     *Spec
	now      func() time.Time

	mu               sync.Mutex
	platformCountry  string
	platformAvail    map[string]int64
	platformPending  map[string]int64
	accounts         map[string]*Account
	intents          map[string]*intent
	charges          map[string]*charge
	transfers        []*transfer
	byID             map[string]*transfer
	idem             map[string]saved
	transferRequests int
	outage           int
	// Invalid records every request or response that did not match the spec.
	invalid []string
}

// New returns a fake proxying what it does not model to upstream (stripe-mock);
// spec may be nil (no validation).
func New(upstream string, spec *Spec, now func() time.Time) (*Fake, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("connectfake: bad upstream %q", upstream)
	}
	return &Fake{upstream: httputil.NewSingleHostReverseProxy(u), spec: spec, now: now, platformCountry: "US",
		platformAvail: map[string]int64{}, platformPending: map[string]int64{}, accounts: map[string]*Account{},
		intents: map[string]*intent{}, charges: map[string]*charge{}, byID: map[string]*transfer{}, idem: map[string]saved{}}, nil
}

// SetAccount adds or replaces a connected account.
func (f *Fake) SetAccount(a Account) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.Available == nil {
		a.Available = map[string]int64{}
	}
	f.accounts[a.ID] = &a
}

// SetPlatformAvailable sets the platform's available balance in a currency.
func (f *Fake) SetPlatformAvailable(cur string, amt int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.platformAvail[strings.ToLower(cur)] = amt
}

// Balances returns the platform's available and pending balance in a currency.
func (f *Fake) Balances(cur string) (available, pending int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.platformAvail[strings.ToLower(cur)], f.platformPending[strings.ToLower(cur)]
}

// AccountAvailable is a connected account's available balance.
func (f *Fake) AccountAvailable(acct, cur string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[acct]; a != nil {
		return a.Available[strings.ToLower(cur)]
	}
	return 0
}

// SetAccountAvailable sets a connected account's available balance (e.g. it paid out).
func (f *Fake) SetAccountAvailable(acct, cur string, amt int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[acct]; a != nil {
		a.Available[strings.ToLower(cur)] = amt
	}
}

// Transfer is a transfer as tests inspect it.
type Transfer struct {
	ID, Destination, Group, SourceTransaction string
	Amount, Reversed                          int64
	Metadata                                  map[string]string
}

// Transfers lists the transfers made, oldest first.
func (f *Fake) Transfers() []Transfer {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Transfer, 0, len(f.transfers))
	for _, t := range f.transfers {
		out = append(out, Transfer{ID: t.ID, Destination: t.Destination, Group: t.Group, SourceTransaction: t.Source, Amount: t.Amount, Reversed: t.Reversed, Metadata: t.Metadata})
	}
	return out
}

// Invalid lists spec violations seen (requests and responses).
func (f *Fake) Invalid() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.invalid...)
}

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// fee is the fake's card/bank pricing: 2.9% + 30 minor units, rounded half up.
func fee(amount int64) int64 { return (amount*29+500)/1000 + 30 }

// NewPaymentIntent registers a platform PaymentIntent as if created through the
// API (tests that name their own IDs).
func (f *Fake) NewPaymentIntent(id string, amount int64, currency, group string, md map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.intents[id] != nil {
		return
	}
	f.intents[id] = &intent{ID: id, Amount: amount, Currency: strings.ToLower(currency), Group: group, Status: "requires_payment_method",
		Metadata: md, Secret: id + "_secret_" + newID(""), Created: f.now().Unix()}
}

// ForgetIdempotencyKeys drops the saved idempotent results (Stripe keeps them 24 hours).
func (f *Fake) ForgetIdempotencyKeys() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.idem = map[string]saved{}
}

// FailTransfers makes the next n transfer creations answer 500 api_error (an outage).
func (f *Fake) FailTransfers(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outage = n
}

// TransferRequests counts POST /v1/transfers calls, answered or not.
func (f *Fake) TransferRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.transferRequests
}

// Pay makes a platform PaymentIntent succeed with a payment method ("card",
// "us_bank_account") and returns the platform event Stripe would send
// (payment_intent.succeeded, no "account"). The charge's net goes to the
// platform's pending (card) or available (bank debit) balance.
func (f *Fake) Pay(piID, method string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi := f.intents[piID]
	if pi == nil {
		return nil, fmt.Errorf("connectfake: no payment intent %s", piID)
	}
	if pi.Status == "succeeded" {
		return f.eventLocked("payment_intent.succeeded", f.intentObject(pi)), nil
	}
	ch := &charge{ID: newID("ch_"), PaymentIntent: pi.ID, Currency: pi.Currency, Method: method, Amount: pi.Amount, Fee: fee(pi.Amount),
		Metadata: pi.Metadata, TransferGroup: pi.Group}
	if strings.HasSuffix(method, "bank_account") || strings.HasSuffix(method, "_debit") {
		ch.ID = newID("py_")
		f.platformAvail[pi.Currency] += ch.Amount - ch.Fee
	} else {
		f.platformPending[pi.Currency] += ch.Amount - ch.Fee
	}
	f.charges[ch.ID] = ch
	pi.Status, pi.Charge, pi.Method = "succeeded", ch.ID, method
	return f.eventLocked("payment_intent.succeeded", f.intentObject(pi)), nil
}

// Refund refunds part of a charge: Stripe debits the platform (its available
// balance may go negative), never the transfers. Returns charge.refunded.
func (f *Fake) Refund(chargeID string, amount int64) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.charges[chargeID]
	if ch == nil || amount <= 0 || ch.Refunded+amount > ch.Amount {
		return nil, fmt.Errorf("connectfake: cannot refund %d of %s", amount, chargeID)
	}
	ch.Refunded += amount
	f.platformAvail[ch.Currency] -= amount
	return f.eventLocked("charge.refunded", f.chargeObject(ch)), nil
}

// ChargeSucceeded is the charge.succeeded platform event of a paid charge.
func (f *Fake) ChargeSucceeded(chargeID string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.charges[chargeID]
	if ch == nil {
		return nil, fmt.Errorf("connectfake: no charge %s", chargeID)
	}
	return f.eventLocked("charge.succeeded", f.chargeObject(ch)), nil
}

// Charge is a charge's amount and fee.
func (f *Fake) Charge(id string) (amount, feeAmt int64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.charges[id]
	if ch == nil {
		return 0, 0, false
	}
	return ch.Amount, ch.Fee, true
}

func (f *Fake) eventLocked(typ string, obj map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": newID("evt_"), "object": "event", "api_version": "2023-10-16", "created": f.now().Unix(),
		"type": typ, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj}})
	return b
}

func (f *Fake) intentObject(pi *intent) map[string]any {
	o := map[string]any{"id": pi.ID, "object": "payment_intent", "amount": pi.Amount, "amount_received": int64(0), "currency": pi.Currency,
		"status": pi.Status, "client_secret": pi.Secret, "transfer_group": pi.Group, "metadata": pi.Metadata, "created": pi.Created,
		"livemode": false, "payment_method_types": []string{"card", "us_bank_account"}, "latest_charge": nil, "on_behalf_of": nil,
		"capture_method": "automatic", "confirmation_method": "automatic"}
	if pi.OnBehalfOf != "" {
		o["on_behalf_of"] = pi.OnBehalfOf
	}
	if pi.Charge != "" {
		o["latest_charge"], o["amount_received"] = pi.Charge, pi.Amount
		o["payment_method"] = map[string]any{"id": newID("pm_"), "object": "payment_method", "type": pi.Method}
	}
	return o
}

func (f *Fake) chargeObject(ch *charge) map[string]any {
	return map[string]any{"id": ch.ID, "object": "charge", "amount": ch.Amount, "amount_captured": ch.Amount, "amount_refunded": ch.Refunded,
		"currency": ch.Currency, "payment_intent": ch.PaymentIntent, "refunded": ch.Refunded == ch.Amount, "status": "succeeded",
		"paid": true, "captured": true, "livemode": false, "created": f.now().Unix(), "metadata": map[string]string{},
		"transfer_group": ch.TransferGroup, "payment_method_details": map[string]any{"type": ch.Method}, "disputed": false,
		"billing_details": map[string]any{"address": nil, "email": nil, "name": nil, "phone": nil},
		"balance_transaction": map[string]any{"id": "txn_" + ch.ID[3:], "object": "balance_transaction", "amount": ch.Amount, "fee": ch.Fee,
			"net": ch.Amount - ch.Fee, "currency": ch.Currency, "type": "charge", "status": "pending", "created": f.now().Unix(),
			"available_on": f.now().Add(48 * time.Hour).Unix(), "balance_type": "payments", "reporting_category": "charge",
			"fee_details": []any{map[string]any{"amount": ch.Fee, "currency": ch.Currency, "type": "stripe_fee", "description": "Stripe processing fees", "application": nil}}}}
}

func stripeError(w http.ResponseWriter, status int, typ, code, msg, param string) {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// ServeHTTP implements the modelled endpoints and proxies the rest.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/v1/payment_intents" && r.Header.Get("Stripe-Account") == "":
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/payment_intents/"):
	case p == "/v1/transfers":
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/v1/transfers/") && strings.HasSuffix(p, "/reversals"):
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/charges/"):
	case r.Method == http.MethodGet && (p == "/v1/account" || strings.HasPrefix(p, "/v1/accounts/")):
	default:
		f.upstream.ServeHTTP(w, r)
		return
	}
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.spec.CheckRequest(r); err != nil {
		f.invalid = append(f.invalid, err.Error())
		stripeError(w, 400, "invalid_request_error", "parameter_unknown", err.Error(), "")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if r.Method == http.MethodPost && key != "" {
		if sv, ok := f.idem[p+"\x00"+key]; ok {
			if sv.params != r.PostForm.Encode() {
				// "The idempotency layer compares incoming parameters to those of the
				// original request and errors if they're not the same"
				// (https://docs.stripe.com/api/idempotent_requests).
				stripeError(w, 400, "idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '"+key+"' if you meant to execute a different request.", "")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(sv.status)
			_, _ = w.Write(sv.body)
			return
		}
	}
	status, schema, obj := f.route(r)
	if status >= 400 {
		b, _ := json.Marshal(obj)
		// Stripe saves the result of a request that began executing, refusals
		// included (https://docs.stripe.com/api/idempotent_requests); the
		// injected 500s model requests that never reached it, so are not saved.
		if r.Method == http.MethodPost && key != "" && status < 500 {
			f.idem[p+"\x00"+key] = saved{status, b, r.PostForm.Encode()}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b)
		return
	}
	if err := f.spec.CheckObject(schema, obj); err != nil {
		f.invalid = append(f.invalid, fmt.Sprintf("%s %s answer: %v", r.Method, p, err))
	}
	b, _ := json.Marshal(obj)
	if r.Method == http.MethodPost && key != "" {
		f.idem[p+"\x00"+key] = saved{200, b, r.PostForm.Encode()}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func errObj(typ, code, msg, param string) map[string]any {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	return map[string]any{"error": e}
}

func metadata(form url.Values) map[string]string {
	md := map[string]string{}
	for k, v := range form {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") {
			md[k[len("metadata["):len(k)-1]] = v[0]
		}
	}
	return md
}

// route answers a modelled request: status, the spec schema of the answer, the answer.
func (f *Fake) route(r *http.Request) (int, string, map[string]any) {
	p, form := r.URL.Path, r.PostForm
	amount := func() (int64, bool) {
		v, err := strconv.ParseInt(form.Get("amount"), 10, 64)
		return v, err == nil && v > 0
	}
	switch {
	case p == "/v1/account":
		return 200, "account", f.accountObject(&Account{ID: "acct_platform", Country: f.platformCountry, Transfers: true, CardPayments: true})
	case strings.HasPrefix(p, "/v1/accounts/"):
		a := f.accounts[strings.TrimPrefix(p, "/v1/accounts/")]
		if a == nil {
			return 404, "", errObj("invalid_request_error", "resource_missing", "No such account", "account")
		}
		return 200, "account", f.accountObject(a)
	case p == "/v1/payment_intents":
		amt, ok := amount()
		if !ok || form.Get("currency") == "" {
			return 400, "", errObj("invalid_request_error", "parameter_missing", "amount and currency are required", "amount")
		}
		pi := &intent{ID: newID("pi_"), Amount: amt, Currency: strings.ToLower(form.Get("currency")), Group: form.Get("transfer_group"),
			OnBehalfOf: form.Get("on_behalf_of"), Status: "requires_payment_method", Metadata: metadata(form), Created: f.now().Unix()}
		if pi.OnBehalfOf != "" {
			if a := f.accounts[pi.OnBehalfOf]; a == nil || !a.CardPayments {
				return 400, "", errObj("invalid_request_error", "", "on_behalf_of must be a connected account with the card_payments capability", "on_behalf_of")
			}
		}
		pi.Secret = pi.ID + "_secret_" + newID("")
		f.intents[pi.ID] = pi
		return 200, "payment_intent", f.intentObject(pi)
	case strings.HasPrefix(p, "/v1/payment_intents/"):
		pi := f.intents[strings.TrimPrefix(p, "/v1/payment_intents/")]
		if pi == nil {
			return 404, "", errObj("invalid_request_error", "resource_missing", "No such payment_intent", "intent")
		}
		return 200, "payment_intent", f.intentObject(pi)
	case strings.HasPrefix(p, "/v1/charges/"):
		ch := f.charges[strings.TrimPrefix(p, "/v1/charges/")]
		if ch == nil {
			return 404, "", errObj("invalid_request_error", "resource_missing", "No such charge", "id")
		}
		return 200, "charge", f.chargeObject(ch)
	case p == "/v1/transfers" && r.Method == http.MethodGet:
		data := []any{}
		for i := len(f.transfers) - 1; i >= 0; i-- {
			if g := r.URL.Query().Get("transfer_group"); g == "" || f.transfers[i].Group == g {
				data = append(data, f.transferObject(f.transfers[i]))
			}
		}
		return 200, "", map[string]any{"object": "list", "url": "/v1/transfers", "has_more": false, "data": data}
	case p == "/v1/transfers":
		return f.createTransfer(form)
	default: // /v1/transfers/{id}/reversals
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/transfers/"), "/reversals")
		return f.reverse(id, form)
	}
}

func (f *Fake) createTransfer(form url.Values) (int, string, map[string]any) {
	f.transferRequests++
	if f.outage > 0 {
		f.outage--
		return 500, "", errObj("api_error", "", "An unknown error occurred", "")
	}
	amt, err := strconv.ParseInt(form.Get("amount"), 10, 64)
	cur := strings.ToLower(form.Get("currency"))
	if err != nil || amt <= 0 || cur == "" {
		return 400, "", errObj("invalid_request_error", "parameter_missing", "amount and currency are required", "amount")
	}
	dest := f.accounts[form.Get("destination")]
	if dest == nil {
		return 400, "", errObj("invalid_request_error", "account_invalid", "No such destination: "+form.Get("destination"), "destination")
	}
	if !dest.Transfers {
		return 400, "", errObj("invalid_request_error", "insufficient_capabilities_for_transfer",
			"Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments", "destination")
	}
	src := form.Get("source_transaction")
	if src != "" {
		ch := f.charges[src]
		if ch == nil {
			return 400, "", errObj("invalid_request_error", "resource_missing", "No such charge: "+src, "source_transaction")
		}
		if ch.Currency != cur {
			return 400, "", errObj("invalid_request_error", "", "The currency of source_transaction's balance transaction does not match the transfer currency", "currency")
		}
		if ch.Transferred+amt > ch.Amount {
			return 400, "", errObj("invalid_request_error", "", fmt.Sprintf("The transfer amount would exceed the amount of source_transaction %s (%d already transferred of %d)",
				src, ch.Transferred, ch.Amount), "amount")
		}
		ch.Transferred += amt
		f.platformPending[cur] -= amt // the charge's funds go to the destination as they become available
	} else {
		if f.platformAvail[cur] < amt {
			return 400, "", errObj("invalid_request_error", "balance_insufficient",
				"You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card.", "")
		}
		f.platformAvail[cur] -= amt
	}
	dest.Available[cur] += amt
	t := &transfer{ID: newID("tr_"), Amount: amt, Currency: cur, Destination: dest.ID, Group: form.Get("transfer_group"), Source: src,
		Metadata: metadata(form), Created: f.now().Unix()}
	f.transfers = append(f.transfers, t)
	f.byID[t.ID] = t
	return 200, "transfer", f.transferObject(t)
}

func (f *Fake) reverse(id string, form url.Values) (int, string, map[string]any) {
	t := f.byID[id]
	if t == nil {
		return 404, "", errObj("invalid_request_error", "resource_missing", "No such transfer: "+id, "id")
	}
	amt := t.Amount - t.Reversed
	if v := form.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 400, "", errObj("invalid_request_error", "", "Invalid positive integer", "amount")
		}
		amt = n
	}
	if amt > t.Amount-t.Reversed {
		return 400, "", errObj("invalid_request_error", "", fmt.Sprintf("The reversal amount %d exceeds what remains of transfer %s (%d)", amt, id, t.Amount-t.Reversed), "amount")
	}
	dest := f.accounts[t.Destination]
	if dest.Available[t.Currency] < amt {
		return 400, "", errObj("invalid_request_error", "balance_insufficient",
			"Insufficient funds in the destination account to reverse this transfer.", "")
	}
	dest.Available[t.Currency] -= amt
	f.platformAvail[t.Currency] += amt
	t.Reversed += amt
	rev := map[string]any{"id": newID("trr_"), "object": "transfer_reversal", "amount": amt, "currency": t.Currency, "transfer": t.ID,
		"created": f.now().Unix(), "metadata": metadata(form), "balance_transaction": nil, "destination_payment_refund": nil, "source_refund": nil}
	t.Reversals = append(t.Reversals, rev)
	return 200, "transfer_reversal", rev
}

func (f *Fake) transferObject(t *transfer) map[string]any {
	revs := append([]map[string]any{}, t.Reversals...)
	sort.SliceStable(revs, func(i, j int) bool { return i > j })
	o := map[string]any{"id": t.ID, "object": "transfer", "amount": t.Amount, "amount_reversed": t.Reversed, "currency": t.Currency,
		"destination": t.Destination, "transfer_group": t.Group, "metadata": t.Metadata, "created": t.Created, "livemode": false,
		"reversed": t.Reversed == t.Amount, "source_transaction": nil, "description": nil, "balance_transaction": nil,
		"destination_payment": "py_" + t.ID[3:], "source_type": "card",
		"reversals": map[string]any{"object": "list", "url": "/v1/transfers/" + t.ID + "/reversals", "has_more": false, "data": revs}}
	if t.Source != "" {
		o["source_transaction"] = t.Source
	}
	return o
}

func (f *Fake) accountObject(a *Account) map[string]any {
	st := func(b bool) string {
		if b {
			return "active"
		}
		return "inactive"
	}
	return map[string]any{"id": a.ID, "object": "account", "country": a.Country, "type": "express",
		"capabilities":    map[string]any{"transfers": st(a.Transfers), "card_payments": st(a.CardPayments)},
		"charges_enabled": a.CardPayments, "payouts_enabled": a.Transfers, "details_submitted": true, "metadata": map[string]string{}}
}
