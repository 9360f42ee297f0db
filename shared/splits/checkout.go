package splits

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/store"
)

// Checkout is the answer of POST /v1/payment-intents/{id}/checkout: a Stripe
// PaymentIntent on the partner's platform account for what is still due, whose
// client_secret the partner hands to Stripe Elements.
type Checkout struct {
	PaymentIntent       string `json:"payment_intent"`        // payrecon's intent
	StripePaymentIntent string `json:"stripe_payment_intent"` // pi_… on the platform
	ClientSecret        string `json:"client_secret"`
	Amount              int64  `json:"amount"`
	Currency            string `json:"currency"`
	// OnBehalfOf is the tenant's account when it is the settlement merchant
	// (it has card_payments and is in the platform's country); "" otherwise.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	Funding    string `json:"funding"` // "separate_charges_and_transfers"
}

// checkoutRef remembers the platform PaymentIntent of an intent and amount, so
// a repeated checkout answers the same one (Stripe's idempotency keys last 24 h;
// this does not expire).
type checkoutRef struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	Stripe    string `dynamodbav:"stripe_payment_intent"`
}

func checkoutSK(intentID string, due int64) string {
	return "SPLITCHECKOUT#" + intentID + "#" + strconv.FormatInt(due, 10)
}

// CreateCheckout creates (idempotently) the platform PaymentIntent paying an
// intent. Every payee, the tenant included, must be able to receive transfers
// (422 naming the accounts that cannot): the money is charged on the platform
// and reaches them only by transfer.
func (s *Service) CreateCheckout(ctx context.Context, pid, intentID string) (Checkout, error) {
	in, _, err := s.Store.Intent(ctx, pid, intentID)
	if err != nil {
		return Checkout{}, err
	}
	due := in.Amount() - in.Received
	switch {
	case in.CanceledAt != nil:
		return Checkout{}, apperr.New(apperr.Conflict, "payment intent %s is canceled", in.ID)
	case due <= 0:
		return Checkout{}, apperr.New(apperr.Conflict, "payment intent %s is already paid", in.ID)
	}
	if err := money.CheckStripeAmount(due, in.Currency, money.StripeCharge); err != nil {
		// Stripe would refuse it (e.g. ISK and UGX amounts must be whole units: multiples of 100).
		return Checkout{}, apperr.New(apperr.Unprocessable, "%s %d cannot be charged at Stripe: %v", in.Currency, due, err)
	}
	tenant, err := s.tenantAccount(ctx, pid, in)
	if err != nil {
		return Checkout{}, err
	}
	keys, err := s.Keys.StripeKeys(ctx, pid)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return Checkout{}, apperr.New(apperr.Unprocessable, "configure the partner's Stripe credentials first")
		}
		return Checkout{}, err
	}
	out := Checkout{PaymentIntent: in.ID, Amount: due, Currency: in.Currency, Funding: "separate_charges_and_transfers"}
	var ref checkoutRef
	switch err := s.Store.DB.Get(ctx, store.PartnerPK(pid), checkoutSK(in.ID, due), &ref); {
	case err == nil:
		pi, err := s.Platform.PaymentIntent(ctx, keys.SecretKey, ref.Stripe)
		if err != nil {
			return Checkout{}, stripeFailure(err)
		}
		out.StripePaymentIntent, out.ClientSecret, out.OnBehalfOf = pi.ID, pi.ClientSecret, pi.OnBehalfOf
		return out, nil
	case !errors.Is(err, store.ErrNotFound):
		return Checkout{}, err
	}
	payees, err := s.payeeAccounts(ctx, pid, in, tenant)
	if err != nil {
		return Checkout{}, err
	}
	platform, err := s.Platform.Account(ctx, keys.SecretKey, "")
	if err != nil {
		return Checkout{}, stripeFailure(err)
	}
	var refused []string
	var tenantAcct StripeAccount
	for _, acct := range payees {
		a, err := s.Platform.Account(ctx, keys.SecretKey, acct)
		if err != nil {
			var te *TransferError
			if errors.As(err, &te) && te.Permanent {
				refused = append(refused, acct+" (not reachable from the platform)")
				continue
			}
			return Checkout{}, stripeFailure(err)
		}
		if !a.Transfers {
			refused = append(refused, acct+" (transfers capability not active)")
		}
		if acct == tenant {
			tenantAcct = a
		}
	}
	if len(refused) > 0 {
		return Checkout{}, apperr.New(apperr.Unprocessable,
			"these payees cannot receive transfers, so a platform charge could not pay them: %s. Finish their onboarding "+
				"(Express or no-dashboard accounts are recommended for separate charges and transfers) and try again", strings.Join(refused, ", "))
	}
	// on_behalf_of makes the tenant the settlement merchant (its statement
	// descriptor, its country's fees); Stripe requires the card_payments
	// capability, and payrecon uses it only within the platform's country so
	// the transfers stay domestic
	// (https://docs.stripe.com/connect/separate-charges-and-transfers#settlement-merchant).
	if tenantAcct.CardPayments && tenantAcct.Country != "" && tenantAcct.Country == platform.Country {
		out.OnBehalfOf = tenant
	}
	pi, err := s.Platform.CreatePaymentIntent(ctx, keys.SecretKey, CheckoutParams{
		Amount: due, Currency: in.Currency, TransferGroup: in.ID, OnBehalfOf: out.OnBehalfOf,
		IdempotencyKey: fmt.Sprintf("payrecon-checkout-%s-%s-%d", pid, in.ID, due),
		Metadata:       map[string]string{MetaIntent: in.ID, MetaPartner: pid, MetaCompany: in.Company},
	})
	if err != nil {
		return Checkout{}, stripeFailure(err)
	}
	ref = checkoutRef{PartnerID: pid, Stripe: pi.ID}
	ref.PK, ref.SK = store.PartnerPK(pid), checkoutSK(in.ID, due)
	if err := s.Store.DB.Put(ctx, ref); err != nil {
		return Checkout{}, err
	}
	out.StripePaymentIntent, out.ClientSecret = pi.ID, pi.ClientSecret
	return out, nil
}

// payeeAccounts lists the connected accounts an intent pays: its partnerships
// with a share, and the tenant.
func (s *Service) payeeAccounts(ctx context.Context, pid string, in Intent, tenant string) ([]string, error) {
	b, err := s.breakdown(ctx, pid, in)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{tenant: true}
	accts := []string{tenant}
	for _, e := range entitlements(b) {
		if e.Key == keySelf || e.Amount == 0 || e.Partnership == "" {
			continue
		}
		p, err := s.Store.Partnership(ctx, pid, e.Partnership)
		if err != nil {
			return nil, err
		}
		if !seen[p.StripeAccountID] {
			seen[p.StripeAccountID] = true
			accts = append(accts, p.StripeAccountID)
		}
	}
	sort.Strings(accts[1:])
	return accts, nil
}

// stripeFailure: Stripe's answer is not the caller's fault; its message is not echoed.
func stripeFailure(err error) error {
	return &apperr.Error{Code: apperr.BadGateway, Message: "Stripe could not be reached or refused the request; retry shortly", RetryAfter: 5}
}

func (s *Service) handleCheckout(w http.ResponseWriter, r *http.Request) error {
	c, err := s.CreateCheckout(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

// breakdown computes an intent's shares from its stored splits and taxes.
func (s *Service) breakdown(ctx context.Context, pid string, in Intent) (Breakdown, error) {
	sp, err := s.Store.Splits(ctx, pid, in.ID)
	if err != nil {
		return Breakdown{}, err
	}
	taxes, err := s.taxesFor(ctx, pid, in, sp)
	if err != nil {
		return Breakdown{}, err
	}
	b, err := Compute(in, sp, taxes)
	if err != nil {
		return Breakdown{}, fmt.Errorf("intent %s does not compute: %w", in.ID, err)
	}
	return b, nil
}
