package notify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// Routes registers the endpoints and events API (paths as in template.yaml).
func Routes(r *httpapi.Router, s *Service) {
	r.Handle(http.MethodPost, "/v1/webhook-endpoints", s.handleCreate)
	r.Handle(http.MethodGet, "/v1/webhook-endpoints", s.handleList)
	r.Handle(http.MethodGet, "/v1/webhook-endpoints/{id}", s.handleGet)
	r.Handle(http.MethodPatch, "/v1/webhook-endpoints/{id}", s.handleUpdate)
	r.Handle(http.MethodDelete, "/v1/webhook-endpoints/{id}", s.handleDelete)
	r.Handle(http.MethodPost, "/v1/webhook-endpoints/{id}/roll-secret", s.handleRoll)
	r.Handle(http.MethodPost, "/v1/webhook-endpoints/{id}/replay", s.handleReplay)
	r.Handle(http.MethodGet, "/v1/events", s.handleEvents)
	r.Handle(http.MethodGet, "/v1/events/{id}", s.handleEvent)
	r.Handle(http.MethodGet, "/v1/events/{id}/deliveries", s.handleDeliveries)
	r.Handle(http.MethodPost, "/v1/events/{id}/resend", s.handleResend)
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var in EndpointInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Create(r.Context(), httpapi.PartnerID(r.Context()), in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, c)
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) error {
	eps, err := s.List(r.Context(), httpapi.PartnerID(r.Context()))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"data": eps})
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	ep, err := s.Get(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, ep)
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) error {
	var in EndpointInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	ep, err := s.Update(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, ep)
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Delete(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleRoll(w http.ResponseWriter, r *http.Request) error {
	c, err := s.RollSecret(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleReplay(w http.ResponseWriter, r *http.Request) error {
	// Strings, parsed here, so a malformed time names its field.
	var in struct {
		Since string `json:"since"`
		Until string `json:"until"`
	}
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	var since time.Time
	until := s.Now()
	bad := map[string]string{}
	for _, f := range []struct {
		name, v string
		to      *time.Time
	}{{"since", in.Since, &since}, {"until", in.Until, &until}} {
		if f.v == "" {
			continue // since's absence is Replay's to refuse; until defaults to now
		}
		t, err := time.Parse(time.RFC3339Nano, f.v)
		if err != nil {
			bad[f.name] = "must be an RFC 3339 time, e.g. 2026-11-27T09:00:00Z"
			continue
		}
		*f.to = t
	}
	if len(bad) > 0 {
		return apperr.FieldErrors(bad)
	}
	res, err := s.Replay(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), since, until)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusAccepted, res)
}

func (s *Service) handleEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := EventFilter{Type: q.Get("type"), CompanyID: q.Get("company_id"), Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxEventsPage {
			return apperr.FieldErrors(map[string]string{"limit": fmt.Sprintf("limit is 1 to %d", MaxEventsPage)})
		}
		f.Limit = int32(n)
	}
	evs, next, err := s.Events(r.Context(), httpapi.PartnerID(r.Context()), f)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"data": evs, "next_cursor": next})
}

func (s *Service) handleEvent(w http.ResponseWriter, r *http.Request) error {
	ev, err := s.Event(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	body, err := ev.Body()
	if err != nil {
		return err // logged; the partner gets the uniform 500
	}
	return httpapi.WriteJSON(w, http.StatusOK, json.RawMessage(body))
}

func (s *Service) handleDeliveries(w http.ResponseWriter, r *http.Request) error {
	ds, next, err := s.Deliveries(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"data": ds, "next_cursor": next})
}

func (s *Service) handleResend(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		EndpointID string `json:"endpoint_id"`
	}
	if r.ContentLength != 0 {
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
	}
	n, err := s.Resend(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"), in.EndpointID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusAccepted, map[string]int{"queued": n})
}
