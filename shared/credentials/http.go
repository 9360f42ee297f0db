package credentials

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/payrecon/payrecon/shared/httpapi"
)

// Routes mounts PUT/GET/DELETE /v1/integrations/{provider}.
func Routes(r *httpapi.Router, s *Service) {
	r.Handle(http.MethodPut, "/v1/integrations/{provider}", s.handlePut)
	r.Handle(http.MethodGet, "/v1/integrations/{provider}", s.handleGet)
	r.Handle(http.MethodDelete, "/v1/integrations/{provider}", s.handleDelete)
	r.Handle(http.MethodGet, "/v1/integrations/{provider}/webhook-secrets", s.handleListSecrets)
	r.Handle(http.MethodPost, "/v1/integrations/{provider}/webhook-secrets", s.handleAddSecret)
	r.Handle(http.MethodDelete, "/v1/integrations/{provider}/webhook-secrets/{secret_id}", s.handleRemoveSecret)
	r.Handle(http.MethodGet, "/v1/integrations/{provider}/webhook-rejections", s.handleRejections)
}

func (s *Service) handleListSecrets(w http.ResponseWriter, r *http.Request) error {
	provider, err := NormalizeProvider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	list, err := s.ListWebhookSecrets(r.Context(), httpapi.PartnerID(r.Context()), provider)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"data": list})
}

func (s *Service) handleAddSecret(w http.ResponseWriter, r *http.Request) error {
	provider, err := NormalizeProvider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	var in struct {
		Secret string `json:"secret"`
		Kind   string `json:"kind"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.AddWebhookSecret(r.Context(), httpapi.PartnerID(r.Context()), provider, in.Kind, in.Secret)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, m)
}

func (s *Service) handleRemoveSecret(w http.ResponseWriter, r *http.Request) error {
	provider, err := NormalizeProvider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	if err := s.RemoveWebhookSecret(r.Context(), httpapi.PartnerID(r.Context()), provider, r.PathValue("secret_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handlePut(w http.ResponseWriter, r *http.Request) error {
	provider, err := NormalizeProvider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	pid := httpapi.PartnerID(r.Context())
	var st Status
	switch provider {
	case Stripe:
		var in StripeCredentials
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		st, err = s.ConfigureStripe(r.Context(), pid, in)
	case Qualpay:
		var in struct {
			QualpayCredentials
			IntegratorID json.RawMessage `json:"integrator_id"` // accept 301 or "301"
		}
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		in.QualpayCredentials.IntegratorID = strings.Trim(string(in.IntegratorID), `"`)
		st, err = s.ConfigureQualpay(r.Context(), pid, in.QualpayCredentials)
	}
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, s.withWebhookURLs(st, pid))
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	provider, err := NormalizeProvider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	pid := httpapi.PartnerID(r.Context())
	st, err := s.Get(r.Context(), pid, provider)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, s.withWebhookURLs(st, pid))
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	provider, err := NormalizeProvider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	if err := s.Delete(r.Context(), httpapi.PartnerID(r.Context()), provider); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
