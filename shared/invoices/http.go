package invoices

import (
	"context"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// Companies checks that a company belongs to the caller (404 otherwise).
type Companies interface {
	Get(ctx context.Context, partnerID, companyID string) (companies.Company, error)
}

// Page is a paginated list.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Limit reads ?limit= (1-100, default 50).
func Limit(r *http.Request) (int32, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, apperr.FieldErrors(map[string]string{"limit": "must be an integer from 1 to 100"})
	}
	return int32(n), nil
}

// Routes mounts the invoice API.
func Routes(r *httpapi.Router, s *Store, cos Companies) {
	company := func(r *http.Request) (string, string, error) {
		pid, cid := httpapi.PartnerID(r.Context()), r.PathValue("id")
		if _, err := cos.Get(r.Context(), pid, cid); err != nil {
			return "", "", err
		}
		return pid, cid, nil
	}
	r.Handle(http.MethodPost, "/v1/companies/{id}/invoices", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		var in Input
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		inv, created, err := s.Create(r.Context(), pid, cid, in)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return httpapi.WriteJSON(w, status, inv)
	})
	r.Handle(http.MethodGet, "/v1/companies/{id}/invoices", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		limit, err := Limit(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		list, next, err := s.List(r.Context(), pid, cid, Filter{Status: q.Get("status"), Customer: q.Get("customer")}, limit, q.Get("cursor"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, Page[Invoice]{Data: list, NextCursor: next})
	})
	r.Handle(http.MethodGet, "/v1/companies/{id}/invoices/{invoice_id}", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		inv, err := s.Get(r.Context(), pid, cid, r.PathValue("invoice_id"))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, inv)
	})
	r.Handle(http.MethodPost, "/v1/companies/{id}/invoices/{invoice_id}/void", func(w http.ResponseWriter, r *http.Request) error {
		pid, cid, err := company(r)
		if err != nil {
			return err
		}
		inv, err := s.Transition(r.Context(), pid, cid, r.PathValue("invoice_id"), StatusVoid)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, inv)
	})
}
