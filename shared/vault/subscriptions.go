package vault

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// Recurring billing through Qualpay's Recurring Billing API: the merchant's
// plans, and subscriptions of a vault customer to a plan, billed by Qualpay
// on one of the customer's stored cards. Qualpay holds the subscriptions; we
// keep nothing but the customer link, so a subscription is reachable only
// through the company that owns its customer.

// Frequencies by name (Qualpay's plan_frequency codes).
var frequencies = map[string]int{
	"weekly": qualpay.FreqWeekly, "biweekly": qualpay.FreqBiWeekly, "monthly": qualpay.FreqMonthly,
	"quarterly": qualpay.FreqQuarterly, "biannually": qualpay.FreqBiAnnually, "annually": qualpay.FreqAnnually,
	"daily": qualpay.FreqDaily,
}

func frequencyName(code int) string {
	for k, v := range frequencies {
		if v == code {
			return k
		}
	}
	return fmt.Sprint(code)
}

// Currencies a plan may bill in, with Qualpay's ISO 4217 numeric codes.
var planCurrencies = map[string]string{"USD": "840", "CAD": "124"}

// PlanInput is POST …/qualpay/plans.
type PlanInput struct {
	PlanCode    string `json:"plan_code"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Frequency   string `json:"frequency"`
	Interval    int    `json:"interval"`
	// Cycles is the number of billing cycles; -1 (the default) bills until cancelled.
	Cycles   int    `json:"cycles"`
	Amount   int64  `json:"amount"` // minor units per cycle
	Currency string `json:"currency"`
}

// Plan is a recurring plan of the company's merchant.
type Plan struct {
	PlanID      int64  `json:"plan_id"`
	PlanCode    string `json:"plan_code"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Frequency   string `json:"frequency"`
	Interval    int    `json:"interval,omitempty"`
	Cycles      int    `json:"cycles"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Status      string `json:"status"` // active, archived, deleted
}

// Compiled on first use, not during the Lambda cold start.
var planCodeRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`) })

func (in *PlanInput) validate() (qualpay.PlanInput, error) {
	bad := map[string]string{}
	if !planCodeRe().MatchString(in.PlanCode) {
		bad["plan_code"] = "must be 1 to 16 letters and digits"
	}
	if in.Name = strings.TrimSpace(in.Name); in.Name == "" || len(in.Name) > 64 {
		bad["name"] = "is required, at most 64 characters"
	}
	if len(in.Description) > 255 {
		bad["description"] = "is at most 255 characters"
	}
	freq, ok := frequencies[in.Frequency]
	if !ok {
		bad["frequency"] = "must be one of weekly, biweekly, monthly, quarterly, biannually, annually, daily"
	}
	if in.Interval < 0 || in.Interval > 99 || (in.Interval > 1 && freq != qualpay.FreqMonthly && freq != qualpay.FreqWeekly) {
		bad["interval"] = "is 1 to 99 weeks or months between bills, for weekly and monthly plans only"
	}
	if in.Cycles == 0 {
		in.Cycles = -1
	}
	if in.Cycles < -1 || in.Cycles > 9999 {
		bad["cycles"] = "is the number of bills (1 to 9999), or -1 to bill until cancelled"
	}
	if in.Currency == "" {
		in.Currency = "USD"
	}
	in.Currency = strings.ToUpper(in.Currency)
	numeric, ok := planCurrencies[in.Currency]
	if !ok {
		bad["currency"] = "must be USD or CAD"
	}
	if in.Amount <= 0 || in.Amount > 99_999_999_999 {
		bad["amount"] = "is required: minor units per bill (1999 is 19.99), at most 12 digits"
	}
	if len(bad) > 0 {
		return qualpay.PlanInput{}, apperr.FieldErrors(bad)
	}
	desc := in.Description
	if desc == "" {
		desc = in.Name // Qualpay requires plan_desc
	}
	return qualpay.PlanInput{PlanCode: in.PlanCode, PlanName: in.Name, PlanDesc: desc, PlanFrequency: freq,
		Interval: in.Interval, PlanDuration: in.Cycles, AmtTran: qualpay.NumberFromMinor(in.Amount, in.Currency), TranCurrency: numeric}, nil
}

func planView(p qualpay.Plan) (Plan, error) {
	cur, amt, err := minorOf(p.AmtTran, p.TranCurrency)
	if err != nil {
		return Plan{}, err
	}
	status := map[string]string{qualpay.PlanActive: "active", qualpay.PlanArchived: "archived", qualpay.PlanDeleted: "deleted"}[p.Status]
	return Plan{PlanID: p.PlanID, PlanCode: p.PlanCode, Name: p.PlanName, Description: p.PlanDesc,
		Frequency: frequencyName(p.PlanFrequency), Interval: p.Interval, Cycles: p.PlanDuration, Amount: amt, Currency: cur, Status: status}, nil
}

// minorOf converts a Qualpay amount in a numeric currency to minor units.
func minorOf(n qualpay.Number, numericCurrency string) (string, int64, error) {
	if numericCurrency == "" {
		numericCurrency = "840" // Qualpay's default
	}
	cur, err := qualpay.CurrencyFromNumeric(numericCurrency)
	if err != nil {
		return "", 0, err
	}
	if n.IsZero() {
		return cur, 0, nil
	}
	v, err := n.Minor(cur)
	return cur, v, err
}

// CreatePlan adds a recurring plan to the company's merchant.
func (s *Service) CreatePlan(ctx context.Context, sc scope, in PlanInput) (Plan, error) {
	qin, err := in.validate()
	if err != nil {
		return Plan{}, err
	}
	p, err := sc.qp.AddPlan(ctx, sc.merchant, qin)
	if err != nil {
		return Plan{}, err
	}
	return planView(p)
}

// ListPlans lists the merchant's plans.
func (s *Service) ListPlans(ctx context.Context, sc scope) ([]Plan, error) {
	ps, err := sc.qp.Plans(ctx, sc.merchant)
	if err != nil {
		return nil, err
	}
	if len(ps) > maxListed {
		return nil, apperr.New(apperr.Unprocessable, "the merchant has more than %d plans; archive unused ones", maxListed)
	}
	return views(ps, planView)
}

// views converts Qualpay records, failing on the first that cannot be.
func views[Q, V any](qs []Q, view func(Q) (V, error)) ([]V, error) {
	out := make([]V, 0, len(qs))
	for _, q := range qs {
		v, err := view(q)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// maxListed caps unpaginated lists (plans, a customer's subscriptions, a
// subscription's transactions) so a response never grows without bound.
const maxListed = 1000

// SubscriptionInput is POST …/customers/{customer_id}/subscriptions.
type SubscriptionInput struct {
	PlanCode  string `json:"plan_code"`
	CardID    string `json:"card_id"`    // empty: the customer's primary card
	DateStart string `json:"date_start"` // YYYY-MM-DD, today or later
}

// Subscription is a customer's subscription to a plan.
type Subscription struct {
	SubscriptionID int64  `json:"subscription_id"`
	CustomerID     string `json:"customer_id"`
	CardID         string `json:"card_id,omitempty"`
	PlanCode       string `json:"plan_code,omitempty"`
	PlanName       string `json:"plan_name,omitempty"`
	Status         string `json:"status"` // active, complete, paused, cancelled, suspended
	DateStart      string `json:"date_start,omitempty"`
	DateNext       string `json:"date_next,omitempty"`
	DateEnd        string `json:"date_end,omitempty"`
	Amount         int64  `json:"amount"` // per bill, minor units
	Currency       string `json:"currency"`
}

var subStatus = map[string]string{qualpay.SubActive: "active", qualpay.SubComplete: "complete", qualpay.SubPaused: "paused",
	qualpay.SubCancelled: "cancelled", qualpay.SubSuspended: "suspended"}

func subscriptionView(q qualpay.Subscription) (Subscription, error) {
	cur, amt, err := minorOf(q.RecurAmt, q.TranCurrency)
	if err != nil {
		return Subscription{}, err
	}
	return Subscription{SubscriptionID: q.SubscriptionID, CustomerID: q.CustomerID, CardID: q.CardID, PlanCode: q.PlanCode,
		PlanName: q.PlanName, Status: subStatus[q.Status], DateStart: q.DateStart, DateNext: q.DateNext, DateEnd: q.DateEnd,
		Amount: amt, Currency: cur}, nil
}

// Subscribe creates a subscription of the customer to a plan on one of the
// customer's stored cards (the primary one unless card_id names another).
func (s *Service) Subscribe(ctx context.Context, sc scope, customerID string, in SubscriptionInput) (Subscription, error) {
	bad := map[string]string{}
	if !planCodeRe().MatchString(in.PlanCode) {
		bad["plan_code"] = "is required: 1 to 16 letters and digits"
	}
	start, err := time.Parse(time.DateOnly, in.DateStart)
	today := s.Now().UTC().Truncate(24 * time.Hour)
	switch {
	case err != nil:
		bad["date_start"] = "is required, as YYYY-MM-DD"
	case start.Before(today):
		bad["date_start"] = "must be today or later"
	}
	if in.CardID != "" {
		if err := checkCardID(in.CardID); err != nil {
			return Subscription{}, err
		}
	}
	if len(bad) > 0 {
		return Subscription{}, apperr.FieldErrors(bad)
	}
	c, _, err := s.live(ctx, sc, customerID)
	if err != nil {
		return Subscription{}, err
	}
	if in.CardID == "" {
		for _, cd := range c.BillingCards {
			if cd.Primary {
				in.CardID = cd.CardID
			}
		}
		if in.CardID == "" {
			return Subscription{}, apperr.FieldErrors(map[string]string{"card_id": "the customer has no stored card: add one first (POST …/cards)"})
		}
	} else if _, err := findCard(c, in.CardID); err != nil {
		return Subscription{}, apperr.FieldErrors(map[string]string{"card_id": "is not one of this customer's cards"})
	}
	// A create resent after its answer was lost must not bill the customer
	// twice, and Qualpay's AddSubscription takes no idempotency key: a live
	// subscription of the same customer to the same plan, on the same card,
	// from the same day is the one the first request made, and is answered.
	// (A second subscription to one plan on one card takes another date_start.)
	existing, err := sc.qp.CustomerSubscriptions(ctx, sc.merchant, customerID)
	if err != nil {
		return Subscription{}, err
	}
	for _, q := range existing {
		// Qualpay answers date_start as a date-time (spec example
		// "2016-07-14T00:00:00.000Z"): compared as a calendar date.
		if d, err := qualpay.ParseDate(q.DateStart); err == nil && d.Format(time.DateOnly) == in.DateStart &&
			q.Live() && q.PlanCode == in.PlanCode && q.CardID == in.CardID {
			return subscriptionView(q)
		}
	}
	q, err := sc.qp.AddSubscription(ctx, sc.merchant, qualpay.SubscriptionInput{CustomerID: customerID, CardID: in.CardID,
		PlanCode: in.PlanCode, DateStart: in.DateStart})
	if err != nil {
		return Subscription{}, err
	}
	return subscriptionView(q)
}

// ListSubscriptions lists the customer's subscriptions.
func (s *Service) ListSubscriptions(ctx context.Context, sc scope, customerID string) ([]Subscription, error) {
	if _, err := s.getLink(ctx, sc, customerID); err != nil {
		return nil, err
	}
	qs, err := sc.qp.CustomerSubscriptions(ctx, sc.merchant, customerID)
	if err != nil {
		return nil, err
	}
	if len(qs) > maxListed {
		return nil, apperr.New(apperr.Unprocessable, "the customer has more than %d subscriptions; cancelled ones stay listed at Qualpay", maxListed)
	}
	return views(qs, subscriptionView)
}

// subscription reads one of the customer's subscriptions (404 for another
// customer's, merchant's or an unknown ID).
func (s *Service) subscription(ctx context.Context, sc scope, customerID string, id int64) (qualpay.Subscription, error) {
	if _, err := s.getLink(ctx, sc, customerID); err != nil {
		return qualpay.Subscription{}, err
	}
	q, err := sc.qp.GetSubscription(ctx, sc.merchant, id)
	if err != nil {
		if apperr.Is(err, apperr.Unprocessable) || apperr.Is(err, apperr.NotFound) {
			return qualpay.Subscription{}, subNotFound() // Qualpay answers an unknown ID with a 400
		}
		return qualpay.Subscription{}, err
	}
	if q.CustomerID != customerID || (q.MerchantID != 0 && q.MerchantID != sc.merchant) {
		return qualpay.Subscription{}, subNotFound()
	}
	return q, nil
}

func subNotFound() error { return apperr.New(apperr.NotFound, "subscription not found") }

// GetSubscription reads one subscription of the customer.
func (s *Service) GetSubscription(ctx context.Context, sc scope, customerID string, id int64) (Subscription, error) {
	q, err := s.subscription(ctx, sc, customerID, id)
	if err != nil {
		return Subscription{}, err
	}
	return subscriptionView(q)
}

// ChangeSubscription pauses, resumes or cancels a subscription. Qualpay's
// rules are checked first so a refusal is a clear 409: only an active
// subscription can be paused, a paused or suspended one resumed, and an
// active, paused or suspended one cancelled (a cancelled one is final).
// Repeating a change that already happened answers the subscription as it is.
func (s *Service) ChangeSubscription(ctx context.Context, sc scope, customerID string, id int64, action string) (Subscription, error) {
	q, err := s.subscription(ctx, sc, customerID, id)
	if err != nil {
		return Subscription{}, err
	}
	var allowed, done bool
	switch action {
	case qualpay.ActionPause:
		allowed, done = q.Status == qualpay.SubActive, q.Status == qualpay.SubPaused
	case qualpay.ActionResume:
		allowed, done = q.Status == qualpay.SubPaused || q.Status == qualpay.SubSuspended, false
	case qualpay.ActionCancel:
		allowed, done = q.Live(), q.Status == qualpay.SubCancelled
	default:
		return Subscription{}, apperr.New(apperr.NotFound, "no route for subscription action %q", action)
	}
	if done {
		return subscriptionView(q)
	}
	if !allowed {
		return Subscription{}, apperr.New(apperr.Conflict, "subscription %d is %s: it cannot be %s", id, subStatus[q.Status],
			map[string]string{qualpay.ActionPause: "paused (only an active one can)", qualpay.ActionResume: "resumed (only a paused or suspended one can)",
				qualpay.ActionCancel: "cancelled (it is already over)"}[action])
	}
	q, err = sc.qp.ChangeSubscription(ctx, sc.merchant, id, customerID, action)
	if err != nil {
		return Subscription{}, err
	}
	return subscriptionView(q)
}

// Transaction is one charge of a subscription (card number masked by Qualpay).
type Transaction struct {
	PgID       string `json:"pg_id"`
	Date       string `json:"date"`
	Status     string `json:"status"` // Qualpay's tran_status (A approved, C captured, …)
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	CardNumber string `json:"masked_number,omitempty"`
	CardType   string `json:"card_type,omitempty"`
}

// SubscriptionTransactions lists the charges of one of the customer's subscriptions.
func (s *Service) SubscriptionTransactions(ctx context.Context, sc scope, customerID string, id int64) ([]Transaction, error) {
	if _, err := s.subscription(ctx, sc, customerID, id); err != nil {
		return nil, err
	}
	ts, err := sc.qp.SubscriptionTransactions(ctx, sc.merchant, id)
	if err != nil {
		return nil, err
	}
	if len(ts) > maxListed {
		ts = ts[len(ts)-maxListed:] // the most recent ones
	}
	return views(ts, func(t qualpay.Transaction) (Transaction, error) {
		cur, amt, err := minorOf(t.AmtTran, t.TranCurrency)
		return Transaction{PgID: t.PgID, Date: t.TranDate, Status: t.TranStatus, Amount: amt, Currency: cur,
			CardNumber: t.CardNumber, CardType: t.CardType}, err
	})
}
