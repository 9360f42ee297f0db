package payments

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payouts"
)

// Routes mounts GET /v1/companies/{id}/payments and …/payouts (Stripe payouts and
// Qualpay deposits alike, as summaries), paginated with ?limit=&cursor=, and
// …/payouts/{payout_id}/items, a payout's items paged on their own so no
// response grows with a payout's size.
func Routes(r *httpapi.Router, s *Store, po *payouts.Store, cos invoices.Companies) {
	company := func(r *http.Request) (string, string, error) {
		pid, cid := httpapi.PartnerID(r.Context()), r.PathValue("id")
		if _, err := cos.Get(r.Context(), pid, cid); err != nil {
			return "", "", err
		}
		return pid, cid, nil
	}
	r.Handle(http.MethodGet, "/v1/companies/{id}/payments", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		limit, err := invoices.Limit(r)
		if err != nil {
			return err
		}
		list, next, err := s.List(r.Context(), pid, cid, r.URL.Query().Get("status"), limit, r.URL.Query().Get("cursor"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, invoices.Page[Payment]{Data: list, NextCursor: next})
	})
	r.Handle(http.MethodGet, "/v1/companies/{id}/payouts", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		limit, err := invoices.Limit(r)
		if err != nil {
			return err
		}
		list, next, err := po.List(r.Context(), pid, cid, limit, r.URL.Query().Get("cursor"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, invoices.Page[payouts.Payout]{Data: list, NextCursor: next})
	})
	r.Handle(http.MethodGet, "/v1/companies/{id}/payouts/{payout_id}", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		p, err := po.Get(r.Context(), pid, cid, r.PathValue("payout_id"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, p)
	})
	// A payout's items, in order, up to payouts.MaxItemsPage a page (default 100).
	r.Handle(http.MethodGet, "/v1/companies/{id}/payouts/{payout_id}/items", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		limit := int32(100)
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > payouts.MaxItemsPage {
				return apperr.FieldErrors(map[string]string{"limit": fmt.Sprintf("must be an integer from 1 to %d", payouts.MaxItemsPage)})
			}
			limit = int32(n)
		}
		items, next, err := po.ItemsPage(r.Context(), pid, cid, r.PathValue("payout_id"), limit, r.URL.Query().Get("cursor"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, invoices.Page[payouts.Item]{Data: items, NextCursor: next})
	})
}
