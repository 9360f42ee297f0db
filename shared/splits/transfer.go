package splits

import (
	"context"
	"errors"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"github.com/payrecon/payrecon/shared/stripeapi"
)

// TransferRequest is one payout to a connected account.
type TransferRequest struct {
	SecretKey     string // the partner's platform key
	Amount        int64
	Currency      string
	Destination   string // acct_…
	TransferGroup string // the payment intent ID
	// SourceTransaction is the charge that funds the transfer (card payments):
	// Stripe then never lets the transfers of one charge exceed it, and never
	// draws them from the platform's own balance.
	SourceTransaction string
	IdempotencyKey    string // one per payout attempt: a retry never pays twice
	Description       string
	Metadata          map[string]string
}

// Transferer creates Stripe transfers (consumer-owned; stripe-go in production,
// fakes in tests).
type Transferer interface {
	// Transfer creates (or, for a repeated idempotency key, returns) a transfer and
	// its ID. Errors are *TransferError when Stripe answered.
	Transfer(ctx context.Context, r TransferRequest) (string, error)
	// FindTransfer looks for an earlier transfer of the group carrying the given
	// metadata value under MetaPayout; "" when none (idempotency keys expire after
	// 24 hours, so a late retry checks first).
	FindTransfer(ctx context.Context, secretKey, group, payoutRef string) (string, error)
}

// TransferError is Stripe's refusal, with Permanent false for conditions worth
// retrying (rate limits, Stripe errors, concurrent idempotent requests).
type TransferError struct {
	Status    int
	Code      string
	Message   string
	Permanent bool
}

func (e *TransferError) Error() string {
	return "stripe transfer: " + e.Code + ": " + e.Message
}

// Transfer metadata keys, also read back from transfer.* events.
const (
	MetaPartner = "payrecon_partner"
	MetaIntent  = "payrecon_intent" // also the key a Stripe PaymentIntent uses to name the intent it pays
	MetaPayout  = "payrecon_payout"
	MetaCompany = "payrecon_company"
)

// StripeTransfers is the stripe-go Transferer.
type StripeTransfers struct {
	Client func(secretKey string) *stripeapi.Clients // stripeapi.Factory.Client
}

// Transfer implements Transferer.
func (s StripeTransfers) Transfer(ctx context.Context, r TransferRequest) (string, error) {
	p := &stripe.TransferParams{
		Amount:        stripe.Int64(r.Amount),
		Currency:      stripe.String(strings.ToLower(r.Currency)),
		Destination:   stripe.String(r.Destination),
		TransferGroup: stripe.String(r.TransferGroup),
		Metadata:      r.Metadata,
	}
	if r.Description != "" {
		p.Description = stripe.String(r.Description)
	}
	if r.SourceTransaction != "" {
		p.SourceTransaction = stripe.String(r.SourceTransaction)
	}
	p.Context = ctx
	p.SetIdempotencyKey(r.IdempotencyKey)
	t, err := s.Client(r.SecretKey).Transfers.New(p)
	if err != nil {
		return "", transferError(err)
	}
	return t.ID, nil
}

// FindTransfer implements Transferer: it pages the group's transfers (newest first).
func (s StripeTransfers) FindTransfer(ctx context.Context, secretKey, group, payoutRef string) (string, error) {
	p := &stripe.TransferListParams{TransferGroup: stripe.String(group)}
	p.Context = ctx
	p.Limit = stripe.Int64(100)
	it := s.Client(secretKey).Transfers.List(p)
	for n := 0; it.Next() && n < 1000; n++ {
		t := it.Transfer()
		if t.TransferGroup == group && t.Metadata[MetaPayout] == payoutRef {
			return t.ID, nil
		}
	}
	if err := it.Err(); err != nil {
		return "", transferError(err)
	}
	return "", nil
}

func transferError(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return &TransferError{Code: "network_error", Message: "could not reach Stripe"}
	}
	msg := se.Msg
	if len(msg) > 300 {
		msg = msg[:300]
	}
	code := string(se.Code)
	if code == "" {
		code = string(se.Type)
	}
	st := se.HTTPStatusCode
	// 400/402/403/404 are answers about this transfer (insufficient funds, account
	// not capable, unknown destination); 401, 409, 429 and 5xx may pass with time.
	permanent := st == 400 || st == 402 || st == 403 || st == 404
	// idempotency_error: the key was first used with other parameters (another
	// delivery's reversal is under way or was not yet recorded): retry later.
	if code == string(stripe.ErrorCodeIdempotencyKeyInUse) || se.Type == stripe.ErrorTypeIdempotency {
		permanent = false
	}
	return &TransferError{Status: st, Code: code, Message: msg, Permanent: permanent}
}
