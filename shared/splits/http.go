package splits

import (
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// Routes mounts the splits API. Every route is scoped to the authenticated partner.
func Routes(r *httpapi.Router, s *Service) {
	r.Handle(http.MethodPost, "/v1/taxes", s.handleCreateTax)
	r.Handle(http.MethodGet, "/v1/taxes", s.handleListTaxes)
	r.Handle(http.MethodGet, "/v1/taxes/{id}", s.handleGetTax)
	r.Handle(http.MethodPost, "/v1/taxes/{id}/archive", s.handleArchiveTax)

	r.Handle(http.MethodPost, "/v1/partnerships", s.handleCreatePartnership)
	r.Handle(http.MethodGet, "/v1/partnerships", s.handleListPartnerships)
	r.Handle(http.MethodGet, "/v1/partnerships/{id}", s.handleGetPartnership)

	r.Handle(http.MethodPost, "/v1/payment-intents", s.handleCreateIntent, httpapi.MaxBody(256<<10))
	r.Handle(http.MethodGet, "/v1/payment-intents", s.handleListIntents)
	r.Handle(http.MethodGet, "/v1/payment-intents/{id}", s.handleGetIntent)
	r.Handle(http.MethodPost, "/v1/payment-intents/{id}/cancel", s.handleCancelIntent)
	r.Handle(http.MethodPost, "/v1/payment-intents/{id}/checkout", s.handleCheckout)
	r.Handle(http.MethodGet, "/v1/payment-intents/{id}/payouts", s.handlePayouts)
	r.Handle(http.MethodPost, "/v1/payment-intents/{id}/payouts/retry", s.handleRetryPayouts)

	r.Handle(http.MethodPost, "/v1/payment-splits", s.handleCreateSplit)
	r.Handle(http.MethodPost, "/v1/payment-splits/create", s.handleCreateSplitQualy) // Qualy's format (qualy.go)
	r.Handle(http.MethodGet, "/v1/payment-splits", s.handleListSplits)
	r.Handle(http.MethodGet, "/v1/payment-splits/{id}", s.handleGetSplit)
	r.Handle(http.MethodPatch, "/v1/payment-splits/{id}", s.handlePatchSplit)
	r.Handle(http.MethodDelete, "/v1/payment-splits/{id}", s.handleDeleteSplit)
}

type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func pageArgs(r *http.Request) (int32, string, error) {
	limit := int32(20)
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, "", apperr.New(apperr.Invalid, "limit must be an integer from 1 to 100")
		}
		limit = int32(n)
	}
	return limit, r.URL.Query().Get("cursor"), nil
}

func pid(r *http.Request) string { return httpapi.PartnerID(r.Context()) }

func (s *Service) handleCreateTax(w http.ResponseWriter, r *http.Request) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	t, err := DecodeTax(body)
	if err != nil {
		return err
	}
	if t, err = s.CreateTax(r.Context(), pid(r), t); err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, t)
}

func (s *Service) handleListTaxes(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageArgs(r)
	if err != nil {
		return err
	}
	list, next, err := s.Store.Taxes(r.Context(), pid(r), limit, cursor)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, page[Tax]{Data: list, NextCursor: next})
}

func (s *Service) handleGetTax(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Store.Tax(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, t)
}

func (s *Service) handleArchiveTax(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Store.ArchiveTax(r.Context(), pid(r), r.PathValue("id"), s.now())
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, t)
}

func (s *Service) handleCreatePartnership(w http.ResponseWriter, r *http.Request) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	p, err := DecodePartnership(body)
	if err != nil {
		return err
	}
	if p, err = s.CreatePartnership(r.Context(), pid(r), p); err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, p)
}

func (s *Service) handleListPartnerships(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageArgs(r)
	if err != nil {
		return err
	}
	list, next, err := s.Store.Partnerships(r.Context(), pid(r), limit, cursor)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, page[Partnership]{Data: list, NextCursor: next})
}

func (s *Service) handleGetPartnership(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Store.Partnership(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, p)
}

func (s *Service) handleCreateIntent(w http.ResponseWriter, r *http.Request) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	in, err := DecodeIntent(body)
	if err != nil {
		return err
	}
	if in, err = s.CreateIntent(r.Context(), pid(r), in); err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, s.View(in))
}

func (s *Service) handleListIntents(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := pageArgs(r)
	if err != nil {
		return err
	}
	list, next, err := s.Store.Intents(r.Context(), pid(r), limit, cursor)
	if err != nil {
		return err
	}
	views := make([]IntentView, len(list))
	for i, in := range list {
		views[i] = s.View(in)
	}
	return httpapi.WriteJSON(w, http.StatusOK, page[IntentView]{Data: views, NextCursor: next})
}

func (s *Service) handleGetIntent(w http.ResponseWriter, r *http.Request) error {
	v, err := s.GetIntent(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleCancelIntent(w http.ResponseWriter, r *http.Request) error {
	in, err := s.CancelIntent(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, s.View(in))
}

func (s *Service) handlePayouts(w http.ResponseWriter, r *http.Request) error {
	v, err := s.Payouts(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleRetryPayouts(w http.ResponseWriter, r *http.Request) error {
	v, err := s.RetryPayouts(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) handleCreateSplit(w http.ResponseWriter, r *http.Request) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	d, err := DecodeSplit(body)
	if err != nil {
		return err
	}
	sp, err := s.CreateSplit(r.Context(), pid(r), d)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, sp)
}

func (s *Service) handleListSplits(w http.ResponseWriter, r *http.Request) error {
	intentID := r.URL.Query().Get("payment_intent")
	if intentID == "" {
		return apperr.New(apperr.Invalid, "payment_intent query parameter is required: splits are listed by intent")
	}
	list, err := s.ListSplits(r.Context(), pid(r), intentID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, page[Split]{Data: list})
}

func (s *Service) handleGetSplit(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.GetSplit(r.Context(), pid(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, sp)
}

func (s *Service) handlePatchSplit(w http.ResponseWriter, r *http.Request) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	sp, err := s.UpdateSplit(r.Context(), pid(r), r.PathValue("id"), body)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, sp)
}

func (s *Service) handleDeleteSplit(w http.ResponseWriter, r *http.Request) error {
	if err := s.DeleteSplit(r.Context(), pid(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
