package connect

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// Routes mounts the connections API (partner API key required).
func Routes(r *httpapi.Router, s *Service) {
	r.Handle(http.MethodPost, "/v1/companies", s.handleCreateCompany)
	r.Handle(http.MethodGet, "/v1/companies", s.handleListCompanies)
	r.Handle(http.MethodGet, "/v1/companies/{id}", s.handleGetCompany)
	r.Handle(http.MethodGet, "/v1/companies/{id}/connections", s.handleConnections)
	r.Handle(http.MethodPost, "/v1/companies/{id}/stripe/connect", s.handleStartStripe)
	r.Handle(http.MethodPost, "/v1/companies/{id}/stripe/link", s.handleLinkStripe)
	r.Handle(http.MethodPost, "/v1/companies/{id}/stripe/onboarding", s.handleOnboarding)
	r.Handle(http.MethodDelete, "/v1/companies/{id}/stripe", s.handleDisconnectStripe)
	r.Handle(http.MethodPost, "/v1/companies/{id}/qualpay/link", s.handleLinkQualpay)
	r.Handle(http.MethodDelete, "/v1/companies/{id}/qualpay", s.handleDisconnectQualpay)
}

// OAuthRoutes mounts the public OAuth redirect (the stripe-oauth function).
func OAuthRoutes(r *httpapi.Router, s *Service) {
	r.Handle(http.MethodGet, CallbackPath, s.handleCallback, httpapi.Public(), httpapi.MaxBody(0))
	r.Handle(http.MethodGet, StartPath, s.handleStart, httpapi.Public(), httpapi.MaxBody(0))
	r.Handle(http.MethodGet, OnboardingRefreshPath, s.handleOnboardingRefresh, httpapi.Public(), httpapi.MaxBody(0))
	r.Handle(http.MethodGet, OnboardingReturnPath, s.handleOnboardingReturn, httpapi.Public(), httpapi.MaxBody(0))
}

func (s *Service) handleCreateCompany(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ExternalID string `json:"external_id"`
		Name       string `json:"name"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	c, created, err := s.Companies.Create(r.Context(), httpapi.PartnerID(r.Context()), in.ExternalID, in.Name)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpapi.WriteJSON(w, status, c)
}

type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Service) handleListCompanies(w http.ResponseWriter, r *http.Request) error {
	limit := int32(20)
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return apperr.New(apperr.Invalid, "limit must be an integer from 1 to 100")
		}
		limit = int32(n)
	}
	list, next, err := s.Companies.List(r.Context(), httpapi.PartnerID(r.Context()), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, page[companies.Company]{Data: list, NextCursor: next})
}

func (s *Service) handleGetCompany(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Companies.Get(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleConnections(w http.ResponseWriter, r *http.Request) error {
	pid, cid := httpapi.PartnerID(r.Context()), r.PathValue("id")
	if _, err := s.Companies.Get(r.Context(), pid, cid); err != nil {
		return err
	}
	list, err := s.Companies.Connections(r.Context(), pid, cid)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, page[companies.Connection]{Data: list})
}

func (s *Service) handleStartStripe(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ReturnURL string `json:"return_url"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := s.StartStripe(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), in.ReturnURL, r.Host)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, res)
}

func writeConnection(w http.ResponseWriter, c companies.Connection, created bool) error {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return httpapi.WriteJSON(w, status, c)
}

func (s *Service) handleLinkStripe(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		AccountID string `json:"account_id"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	c, created, err := s.LinkStripe(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), in.AccountID)
	if err != nil {
		return err
	}
	return writeConnection(w, c, created)
}

func (s *Service) handleDisconnectStripe(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.DisconnectStripe(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleLinkQualpay(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MerchantID json.RawMessage `json:"merchant_id"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	pid, cid := httpapi.PartnerID(r.Context()), r.PathValue("id")
	// The company is checked first so another partner's ID is a 404, not a 422.
	if _, err := s.Companies.Get(r.Context(), pid, cid); err != nil {
		return err
	}
	mid, ok := ParseMerchantID(in.MerchantID)
	if !ok {
		return apperr.FieldErrors(map[string]string{"merchant_id": "must be a Qualpay merchant ID (a positive integer)"})
	}
	c, created, err := s.LinkQualpay(r.Context(), pid, cid, mid)
	if err != nil {
		return err
	}
	return writeConnection(w, c, created)
}

func (s *Service) handleDisconnectQualpay(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.DisconnectQualpay(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
