package qualpay

import (
	"context"
	"net/url"
	"strconv"
)

// Subscription statuses (spec: Subscription.status).
const (
	SubActive    = "A"
	SubComplete  = "D"
	SubPaused    = "P"
	SubCancelled = "C"
	SubSuspended = "S"
)

// Subscription is a recurring-billing subscription of a vault customer.
type Subscription struct {
	SubscriptionID int64  `json:"subscription_id,omitempty"`
	MerchantID     int64  `json:"merchant_id,omitempty"`
	CustomerID     string `json:"customer_id,omitempty"`
	CardID         string `json:"card_id,omitempty"`
	Status         string `json:"status,omitempty"`
	PlanID         int64  `json:"plan_id,omitempty"`
	PlanCode       string `json:"plan_code,omitempty"`
	PlanName       string `json:"plan_name,omitempty"`
	PlanDesc       string `json:"plan_desc,omitempty"`
	OnPlan         bool   `json:"subscription_on_plan,omitempty"`
	DateStart      string `json:"date_start,omitempty"`
	DateNext       string `json:"date_next,omitempty"`
	DateEnd        string `json:"date_end,omitempty"`
	RecurAmt       Number `json:"recur_amt,omitzero"`
	TranCurrency   string `json:"tran_currency,omitempty"`
}

// Live reports whether the subscription may still bill (active, paused or
// suspended); complete and cancelled ones are over.
func (s Subscription) Live() bool {
	return s.Status == SubActive || s.Status == SubPaused || s.Status == SubSuspended
}

// CustomerSubscriptions reads every subscription of one customer.
func (cl *Client) CustomerSubscriptions(ctx context.Context, merchantID int64, customerID string) ([]Subscription, error) {
	if err := firstErr(checkMerchant(merchantID), checkCustomerID(customerID)); err != nil {
		return nil, err
	}
	p := ListParams{Filters: []Filter{Eq("customer_id", customerID)}}
	return allMerchant(ctx, cl, "/subscription", merchantID, p, func(s Subscription) string { return idKey(s.SubscriptionID) })
}

// allMerchant walks a browse call that takes merchant_id as a query
// parameter (vault and recurring billing) rather than as a filter (reporting).
func allMerchant[T any](ctx context.Context, cl *Client, route string, merchantID int64, p ListParams, key func(T) string) ([]T, error) {
	return all(ctx, cl, route, p, key, func(q url.Values) {
		q.Set("merchant_id", strconv.FormatInt(merchantID, 10))
	})
}
