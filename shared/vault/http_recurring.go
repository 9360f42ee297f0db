package vault

import (
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// recurringRoutes mounts plans, subscriptions and the Account Updater.
func recurringRoutes(r *httpapi.Router, s *Service) {
	plans := "/v1/companies/{id}/qualpay/plans"
	r.Handle(http.MethodPost, plans, withBody(s, http.StatusCreated, false, func(r *http.Request, q request, in PlanInput) (any, error) {
		return s.CreatePlan(r.Context(), q.sc, in)
	}))
	r.Handle(http.MethodGet, plans, s.serve(http.StatusOK, false, func(r *http.Request, q request) (any, error) {
		ps, err := s.ListPlans(r.Context(), q.sc)
		return list[Plan]{Data: ps}, err
	}))

	subs := base + "/{customer_id}/subscriptions"
	sub := subs + "/{subscription_id}"
	r.Handle(http.MethodPost, subs, withBody(s, http.StatusCreated, true, func(r *http.Request, q request, in SubscriptionInput) (any, error) {
		return s.Subscribe(r.Context(), q.sc, q.customerID, in)
	}))
	r.Handle(http.MethodGet, subs, s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		ss, err := s.ListSubscriptions(r.Context(), q.sc, q.customerID)
		return list[Subscription]{Data: ss}, err
	}))
	r.Handle(http.MethodGet, sub, s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		id, err := subscriptionID(r)
		if err != nil {
			return nil, err
		}
		return s.GetSubscription(r.Context(), q.sc, q.customerID, id)
	}))
	for _, action := range []string{qualpay.ActionPause, qualpay.ActionResume, qualpay.ActionCancel} {
		r.Handle(http.MethodPost, sub+"/"+action, s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
			id, err := subscriptionID(r)
			if err != nil {
				return nil, err
			}
			return s.ChangeSubscription(r.Context(), q.sc, q.customerID, id, action)
		}))
	}
	r.Handle(http.MethodGet, sub+"/transactions", s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		id, err := subscriptionID(r)
		if err != nil {
			return nil, err
		}
		ts, err := s.SubscriptionTransactions(r.Context(), q.sc, q.customerID, id)
		return list[Transaction]{Data: ts}, err
	}))

	au := "/v1/companies/{id}/qualpay/account-updater"
	r.Handle(http.MethodGet, au+"/summary", s.serve(http.StatusOK, false, func(r *http.Request, q request) (any, error) {
		page, count, err := reportPage(r)
		if err != nil {
			return nil, err
		}
		return s.UpdaterSummaryReport(r.Context(), q.sc, page, count)
	}))
	r.Handle(http.MethodGet, au+"/detail", s.serve(http.StatusOK, false, func(r *http.Request, q request) (any, error) {
		page, count, err := reportPage(r)
		if err != nil {
			return nil, err
		}
		return s.UpdaterDetailReport(r.Context(), q.sc, page, count)
	}))
	r.Handle(http.MethodPost, au+"/apply", s.serve(http.StatusOK, false, func(r *http.Request, q request) (any, error) {
		return s.applyAccountUpdates(r.Context(), q.sc)
	}))
}

func subscriptionID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("subscription_id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, subNotFound()
	}
	return id, nil
}

// reportPage reads ?page= (zero-based, ≤ 10000) and ?count= (1–100, default 20):
// one page of Qualpay's report per request, so a response never grows with the vault.
func reportPage(r *http.Request) (int, int, error) {
	page, count := 0, 20
	var err error
	if v := r.URL.Query().Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 || page > 10000 {
			return 0, 0, apperr.New(apperr.Invalid, "page must be an integer from 0 to 10000")
		}
	}
	if v := r.URL.Query().Get("count"); v != "" {
		if count, err = strconv.Atoi(v); err != nil || count < 1 || count > 100 {
			return 0, 0, apperr.New(apperr.Invalid, "count must be an integer from 1 to 100")
		}
	}
	return page, count, nil
}
