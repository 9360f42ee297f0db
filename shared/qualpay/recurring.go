package qualpay

import (
	"context"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/shared/apperr"
)

// Recurring Billing (spec tag "Recurring Billing"): plans, and subscriptions
// of vault customers to them, billed by Qualpay on the customer's card.

// Plan frequencies (spec: AddRecurringPlanRequest.plan_frequency).
const (
	FreqWeekly     = 0
	FreqBiWeekly   = 1
	FreqMonthly    = 3
	FreqQuarterly  = 4
	FreqBiAnnually = 5
	FreqAnnually   = 6
	FreqDaily      = 7
)

// Plan statuses (spec: RecurringPlan.status).
const (
	PlanActive   = "E"
	PlanArchived = "A"
	PlanDeleted  = "D"
)

// PlanInput is a new recurring plan (spec: AddRecurringPlanRequest; plan_code,
// plan_name, plan_desc, plan_frequency, plan_duration and amt_tran are required).
type PlanInput struct {
	PlanCode      string `json:"plan_code"`
	PlanName      string `json:"plan_name"`
	PlanDesc      string `json:"plan_desc"`
	PlanFrequency int    `json:"plan_frequency"` // 0 is weekly: always sent
	Interval      int    `json:"interval,omitempty"`
	PlanDuration  int    `json:"plan_duration"` // billing cycles; -1 bills until cancelled
	AmtTran       Number `json:"amt_tran"`
	TranCurrency  string `json:"tran_currency,omitempty"` // ISO 4217 numeric
}

// Plan is a recurring plan (spec: RecurringPlan).
type Plan struct {
	MerchantID    int64  `json:"merchant_id,omitempty"`
	PlanID        int64  `json:"plan_id,omitempty"`
	PlanCode      string `json:"plan_code,omitempty"`
	PlanName      string `json:"plan_name,omitempty"`
	PlanDesc      string `json:"plan_desc,omitempty"`
	PlanFrequency int    `json:"plan_frequency"`
	Interval      int    `json:"interval,omitempty"`
	PlanDuration  int    `json:"plan_duration,omitempty"`
	Status        string `json:"status,omitempty"`
	AmtTran       Number `json:"amt_tran,omitzero"`
	TranCurrency  string `json:"tran_currency,omitempty"`
	DBTimestamp   string `json:"db_timestamp,omitempty"`
	ModTimestamp  string `json:"mod_timestamp,omitempty"`
}

// SubscriptionInput subscribes a vault customer to a plan (spec:
// AddSubscriptionRequest). CardID empty bills the customer's primary card.
type SubscriptionInput struct {
	CustomerID string `json:"customer_id"`
	CardID     string `json:"card_id,omitempty"`
	PlanCode   string `json:"plan_code"`
	DateStart  string `json:"date_start"` // YYYY-MM-DD
}

// Transaction is a payment gateway transaction of a subscription (spec:
// Transaction). CardNumber is masked by Qualpay.
type Transaction struct {
	MerchantID     int64  `json:"merchant_id,omitempty"`
	TranTime       string `json:"tran_time,omitempty"`
	TranDate       string `json:"tran_date,omitempty"`
	TranStatus     string `json:"tran_status,omitempty"`
	AuthCode       string `json:"auth_code,omitempty"`
	RCode          string `json:"rcode,omitempty"`
	CardNumber     string `json:"card_number,omitempty"`
	CardType       string `json:"card_type,omitempty"`
	PurchaseID     string `json:"purchase_id,omitempty"`
	PgID           string `json:"pg_id,omitempty"`
	AmtTran        Number `json:"amt_tran,omitzero"`
	TranCurrency   string `json:"tran_currency,omitempty"`
	AmtRefunded    Number `json:"amt_refunded,omitzero"`
	CustomerID     string `json:"customer_id,omitempty"`
	SubscriptionID string `json:"subscription_id,omitempty"`
}

func checkSubscriptionID(id int64) error {
	if id <= 0 {
		return apperr.New(apperr.NotFound, "subscription not found")
	}
	return nil
}

// callData runs a call whose response data is one T.
func callData[T any](ctx context.Context, cl *Client, c call) (T, error) {
	var env envelope
	var out T
	if err := cl.do(ctx, c, &env); err != nil {
		return out, err
	}
	return out, decodeData(c.method+" /platform"+c.route, &env, &out)
}

func (cl *Client) subscriptionCall(ctx context.Context, c call) (Subscription, error) {
	return callData[Subscription](ctx, cl, c)
}

// AddPlan creates a recurring plan in the merchant's account.
func (cl *Client) AddPlan(ctx context.Context, merchantID int64, in PlanInput) (Plan, error) {
	if err := checkMerchant(merchantID); err != nil {
		return Plan{}, err
	}
	body := struct {
		PlanInput
		MerchantID int64 `json:"merchant_id"`
	}{in, merchantID}
	return callData[Plan](ctx, cl, call{method: http.MethodPost, route: "/plan", path: "/plan", body: body})
}

// Plans reads the merchant's plans (every status).
func (cl *Client) Plans(ctx context.Context, merchantID int64) ([]Plan, error) {
	if err := checkMerchant(merchantID); err != nil {
		return nil, err
	}
	return allMerchant(ctx, cl, "/plan", merchantID, ListParams{}, func(p Plan) string { return idKey(p.PlanID) })
}

// AddSubscription subscribes a vault customer to an active plan.
func (cl *Client) AddSubscription(ctx context.Context, merchantID int64, in SubscriptionInput) (Subscription, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(in.CustomerID)); err != nil {
		return Subscription{}, err
	}
	body := struct {
		SubscriptionInput
		MerchantID int64 `json:"merchant_id"`
	}{in, merchantID}
	return cl.subscriptionCall(ctx, call{method: http.MethodPost, route: "/subscription", path: "/subscription", body: body})
}

// GetSubscription reads one subscription.
func (cl *Client) GetSubscription(ctx context.Context, merchantID, subscriptionID int64) (Subscription, error) {
	if err := firstErr(checkMerchant(merchantID), checkSubscriptionID(subscriptionID)); err != nil {
		return Subscription{}, err
	}
	return cl.subscriptionCall(ctx, call{method: http.MethodGet, route: "/subscription/{subscription_id}",
		path: "/subscription/" + strconv.FormatInt(subscriptionID, 10), query: merchantQuery(merchantID)})
}

// Subscription state changes (spec: pauseSubscription, resumeSubscription,
// cancelSubscription): Qualpay pauses only active subscriptions, resumes
// paused or suspended ones and cancels active, paused or suspended ones; a
// cancelled subscription cannot be resumed.
const (
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionCancel = "cancel"
)

// ChangeSubscription pauses, resumes or cancels a customer's subscription.
func (cl *Client) ChangeSubscription(ctx context.Context, merchantID, subscriptionID int64, customerID, action string) (Subscription, error) {
	if err := firstErr(checkMerchant(merchantID), checkSubscriptionID(subscriptionID), checkCustomerID(customerID)); err != nil {
		return Subscription{}, err
	}
	switch action {
	case ActionPause, ActionResume, ActionCancel:
	default:
		return Subscription{}, apperr.New(apperr.NotFound, "unknown subscription action %q", action)
	}
	body := struct {
		CustomerID string `json:"customer_id"`
		MerchantID int64  `json:"merchant_id"`
	}{customerID, merchantID}
	return cl.subscriptionCall(ctx, call{method: http.MethodPost, route: "/subscription/{subscription_id}/" + action,
		path: "/subscription/" + strconv.FormatInt(subscriptionID, 10) + "/" + action, body: body})
}

// SubscriptionTransactions reads every transaction of a subscription.
func (cl *Client) SubscriptionTransactions(ctx context.Context, merchantID, subscriptionID int64) ([]Transaction, error) {
	if err := firstErr(checkMerchant(merchantID), checkSubscriptionID(subscriptionID)); err != nil {
		return nil, err
	}
	return allMerchant(ctx, cl, "/subscription/transactions/"+strconv.FormatInt(subscriptionID, 10), merchantID, ListParams{},
		func(t Transaction) string { return t.PgID })
}
