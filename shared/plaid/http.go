package plaid

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

// Routes mounts the plaid function: credentials, link tokens, Items and the webhook.
func Routes(r *httpapi.Router, s *Service, cos reconsvc.Companies) {
	r.Handle(http.MethodPut, "/v1/integrations/plaid", func(w http.ResponseWriter, req *http.Request) error {
		var in Credentials
		if err := httpapi.DecodeJSON(req, &in); err != nil {
			return err
		}
		st, err := s.Configure(req.Context(), httpapi.PartnerID(req.Context()), req.Host, in)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, st)
	}, httpapi.MaxBody(4<<10))
	r.Handle(http.MethodGet, "/v1/integrations/plaid", func(w http.ResponseWriter, req *http.Request) error {
		st, err := s.Status(req.Context(), httpapi.PartnerID(req.Context()), req.Host)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, st)
	})
	r.Handle(http.MethodDelete, "/v1/integrations/plaid", func(w http.ResponseWriter, req *http.Request) error {
		if err := s.Unconfigure(req.Context(), httpapi.PartnerID(req.Context())); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	company := func(req *http.Request) (string, string, error) {
		pid, cid := httpapi.PartnerID(req.Context()), req.PathValue("id")
		_, err := cos.Get(req.Context(), pid, cid)
		return pid, cid, err
	}
	r.Handle(http.MethodPost, "/v1/companies/{id}/plaid/link-token", func(w http.ResponseWriter, req *http.Request) error {
		pid, cid, err := company(req)
		if err != nil {
			return err
		}
		var in struct {
			ClientName string `json:"client_name"`
			ItemID     string `json:"item_id"` // update mode: repair this Item's login
		}
		if req.ContentLength != 0 {
			if err := httpapi.DecodeJSON(req, &in); err != nil {
				return err
			}
		}
		lt, err := s.CreateLinkToken(req.Context(), pid, cid, req.Host, in.ClientName, in.ItemID)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, lt)
	}, httpapi.MaxBody(4<<10))
	r.Handle(http.MethodPost, "/v1/companies/{id}/plaid/items", func(w http.ResponseWriter, req *http.Request) error {
		pid, cid, err := company(req)
		if err != nil {
			return err
		}
		var in struct {
			PublicToken string `json:"public_token"`
		}
		if err := httpapi.DecodeJSON(req, &in); err != nil {
			return err
		}
		it, err := s.Exchange(req.Context(), pid, cid, in.PublicToken)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusCreated, it)
	}, httpapi.MaxBody(4<<10))
	r.Handle(http.MethodGet, "/v1/companies/{id}/plaid/items", func(w http.ResponseWriter, req *http.Request) error {
		pid, cid, err := company(req)
		if err != nil {
			return err
		}
		items, err := s.Items.List(req.Context(), pid, cid)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"data": items})
	})
	r.Handle(http.MethodDelete, "/v1/companies/{id}/plaid/items/{item_id}", func(w http.ResponseWriter, req *http.Request) error {
		pid, cid, err := company(req)
		if err != nil {
			return err
		}
		if err := s.Remove(req.Context(), pid, cid, req.PathValue("item_id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	// Plaid's webhook: POST /plaid?partner_id=… (the URL set in link tokens).
	r.Handle(http.MethodPost, "/plaid", func(w http.ResponseWriter, req *http.Request) error {
		body, err := httpapi.ReadBody(req)
		if err != nil {
			return err
		}
		res, err := s.HandleWebhook(req.Context(), req.URL.Query().Get("partner_id"), body, req.Header.Get(VerificationHeader))
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, res)
	}, httpapi.Public(), httpapi.MaxBody(MaxWebhookBody))
}
