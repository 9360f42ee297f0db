package splits

import (
	"context"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"github.com/payrecon/payrecon/shared/stripeapi"
)

// Platform is what split funding needs of Stripe besides creating transfers
// (consumer-owned; stripe-go in production, the Connect fake in tests).
type Platform interface {
	// Account reads a connected account; "" reads the platform's own account.
	Account(ctx context.Context, secretKey, accountID string) (StripeAccount, error)
	CreatePaymentIntent(ctx context.Context, secretKey string, p CheckoutParams) (CheckoutIntent, error)
	PaymentIntent(ctx context.Context, secretKey, id string) (CheckoutIntent, error)
	// Charge reads a platform charge with its balance transaction (fee, net).
	Charge(ctx context.Context, secretKey, chargeID string) (ChargeInfo, error)
	// Reverse reverses part of a transfer (POST /v1/transfers/{id}/reversals).
	Reverse(ctx context.Context, secretKey, transferID string, amount int64, idempotencyKey string, md map[string]string) (string, error)
}

// StripeAccount is what funding reads of an account.
type StripeAccount struct {
	ID           string
	Country      string
	Transfers    bool // capabilities.transfers active: it can receive transfers
	CardPayments bool // capabilities.card_payments active: it can be on_behalf_of
}

// CheckoutParams is the platform PaymentIntent of a checkout.
type CheckoutParams struct {
	Amount         int64
	Currency       string
	TransferGroup  string
	OnBehalfOf     string
	IdempotencyKey string
	Metadata       map[string]string
}

// CheckoutIntent is a platform PaymentIntent as the checkout answers it.
type CheckoutIntent struct {
	ID           string
	ClientSecret string
	Status       string
	Amount       int64
	Currency     string
	OnBehalfOf   string
}

// ChargeInfo is a charge and its balance transaction.
type ChargeInfo struct {
	ID       string
	Amount   int64
	Fee      int64
	Net      int64
	Currency string
	Refunded int64 // amount_refunded so far
}

// StripePlatform is the stripe-go Platform.
type StripePlatform struct {
	Client func(secretKey string) *stripeapi.Clients
}

func active(c stripe.AccountCapabilityStatus) bool { return c == stripe.AccountCapabilityStatusActive }

// Account implements Platform.
func (s StripePlatform) Account(ctx context.Context, key, id string) (StripeAccount, error) {
	p := &stripe.AccountParams{}
	p.Context = ctx
	var a *stripe.Account
	var err error
	if id == "" {
		a, err = s.Client(key).Accounts.Get()
	} else {
		a, err = s.Client(key).Accounts.GetByID(id, p)
	}
	if err != nil {
		return StripeAccount{}, transferError(err)
	}
	out := StripeAccount{ID: a.ID, Country: a.Country}
	if a.Capabilities != nil {
		out.Transfers, out.CardPayments = active(a.Capabilities.Transfers), active(a.Capabilities.CardPayments)
	}
	return out, nil
}

func checkoutIntent(pi *stripe.PaymentIntent) CheckoutIntent {
	out := CheckoutIntent{ID: pi.ID, ClientSecret: pi.ClientSecret, Status: string(pi.Status), Amount: pi.Amount, Currency: strings.ToUpper(string(pi.Currency))}
	if pi.OnBehalfOf != nil {
		out.OnBehalfOf = pi.OnBehalfOf.ID
	}
	return out
}

// CreatePaymentIntent implements Platform.
func (s StripePlatform) CreatePaymentIntent(ctx context.Context, key string, c CheckoutParams) (CheckoutIntent, error) {
	p := &stripe.PaymentIntentParams{
		Amount: stripe.Int64(c.Amount), Currency: stripe.String(strings.ToLower(c.Currency)),
		TransferGroup:           stripe.String(c.TransferGroup),
		AutomaticPaymentMethods: &stripe.PaymentIntentAutomaticPaymentMethodsParams{Enabled: stripe.Bool(true)},
	}
	if c.OnBehalfOf != "" {
		p.OnBehalfOf = stripe.String(c.OnBehalfOf)
	}
	for k, v := range c.Metadata {
		p.AddMetadata(k, v)
	}
	p.Context = ctx
	p.SetIdempotencyKey(c.IdempotencyKey)
	pi, err := s.Client(key).PaymentIntents.New(p)
	if err != nil {
		return CheckoutIntent{}, transferError(err)
	}
	return checkoutIntent(pi), nil
}

// PaymentIntent implements Platform.
func (s StripePlatform) PaymentIntent(ctx context.Context, key, id string) (CheckoutIntent, error) {
	p := &stripe.PaymentIntentParams{}
	p.Context = ctx
	pi, err := s.Client(key).PaymentIntents.Get(id, p)
	if err != nil {
		return CheckoutIntent{}, transferError(err)
	}
	return checkoutIntent(pi), nil
}

// Charge implements Platform.
func (s StripePlatform) Charge(ctx context.Context, key, id string) (ChargeInfo, error) {
	p := &stripe.ChargeParams{}
	p.Context = ctx
	p.AddExpand("balance_transaction")
	ch, err := s.Client(key).Charges.Get(id, p)
	if err != nil {
		return ChargeInfo{}, transferError(err)
	}
	out := ChargeInfo{ID: ch.ID, Amount: ch.Amount, Currency: strings.ToUpper(string(ch.Currency)), Refunded: ch.AmountRefunded}
	if bt := ch.BalanceTransaction; bt != nil {
		out.Fee, out.Net = bt.Fee, bt.Net
	}
	return out, nil
}

// Reverse implements Platform.
func (s StripePlatform) Reverse(ctx context.Context, key, transferID string, amount int64, idem string, md map[string]string) (string, error) {
	p := &stripe.TransferReversalParams{ID: stripe.String(transferID), Amount: stripe.Int64(amount)}
	for k, v := range md {
		p.AddMetadata(k, v)
	}
	p.Context = ctx
	p.SetIdempotencyKey(idem)
	r, err := s.Client(key).TransferReversals.New(p)
	if err != nil {
		return "", transferError(err)
	}
	return r.ID, nil
}
