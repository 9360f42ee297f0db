package payments

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payouts"
)

// Routes mounts GET /v1/companies/{id}/payments and …/payouts (Stripe payouts and
// Qualpay deposits alike, each with its items), paginated with ?limit=&cursor=.
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
		if p.Items, err = po.Items(r.Context(), pid, cid, p.ID); err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, p)
	})
}
