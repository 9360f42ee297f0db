package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/qualpay"
)

const base = "/v1/companies/{id}/qualpay/customers"

// Routes mounts the vault API (partner API key required). template.yaml
// routes the same paths to the vault function.
func Routes(r *httpapi.Router, s *Service) {
	r.Handle(http.MethodPost, base, s.handleCreate)
	r.Handle(http.MethodGet, base, s.handleList)
	r.Handle(http.MethodGet, base+"/{customer_id}", s.handleGet)
	r.Handle(http.MethodPatch, base+"/{customer_id}", s.handlePatch)
	r.Handle(http.MethodDelete, base+"/{customer_id}", s.handleDelete)
	r.Handle(http.MethodPost, base+"/{customer_id}/cards", s.handleAddCard)
	r.Handle(http.MethodGet, base+"/{customer_id}/cards", s.handleListCards)
	r.Handle(http.MethodPatch, base+"/{customer_id}/cards/{card_id}", s.handleUpdateCard)
	r.Handle(http.MethodDelete, base+"/{customer_id}/cards/{card_id}", s.handleDeleteCard)
	r.Handle(http.MethodPost, base+"/{customer_id}/cards/{card_id}/primary", s.handlePrimaryCard)
	r.Handle(http.MethodPost, base+"/{customer_id}/shipping-addresses", s.handleAddAddress)
	r.Handle(http.MethodGet, base+"/{customer_id}/shipping-addresses", s.handleListAddresses)
	r.Handle(http.MethodPatch, base+"/{customer_id}/shipping-addresses/{shipping_id}", s.handleUpdateAddress)
	r.Handle(http.MethodDelete, base+"/{customer_id}/shipping-addresses/{shipping_id}", s.handleDeleteAddress)
	r.Handle(http.MethodPost, base+"/{customer_id}/shipping-addresses/{shipping_id}/primary", s.handlePrimaryAddress)
}

type list[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// request is a parsed vault request: the resolved company and path values.
type request struct {
	sc         scope
	customerID string
}

// begin checks the path (no card numbers, valid IDs) and resolves the company.
func (s *Service) begin(r *http.Request, withCustomer bool) (request, error) {
	for _, p := range []string{"customer_id", "card_id", "shipping_id"} {
		if v := r.PathValue(p); v != "" && qualpay.LooksLikePAN(v) {
			return request{}, qualpay.RawPANError([]string{p})
		}
	}
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			if qualpay.LooksLikePAN(v) {
				return request{}, qualpay.RawPANError([]string{k})
			}
		}
	}
	var q request
	if withCustomer {
		q.customerID = r.PathValue("customer_id")
		if !qualpay.ValidCustomerID(q.customerID) {
			return request{}, apperr.FieldErrors(map[string]string{"customer_id": "must be 1 to 32 letters and digits"})
		}
	}
	sc, err := s.resolve(r.Context(), httpapi.PartnerID(r.Context()), r.PathValue("id"))
	if err != nil {
		return request{}, err
	}
	q.sc = sc
	return q, nil
}

// rawCardFields are refused by name with a pointer to the right flow.
var rawCardFields = map[string]bool{"card_number": true, "cvv2": true, "cvv": true, "pan": true, "number": true,
	"dda_number": true, "tr_number": true}

// decode reads a JSON body strictly: a card number anywhere, or any field we
// do not know, is a 422 before anything is logged, stored or forwarded.
func decode(r *http.Request, v any) error {
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	if fields := qualpay.FindPAN(body); len(fields) > 0 {
		return qualpay.RawPANError(fields)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.New(apperr.Invalid, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return apperr.FieldErrors(map[string]string{te.Field: "has the wrong type (" + te.Value + ")"})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			if rawCardFields[f] {
				return apperr.FieldErrors(map[string]string{f: "raw card data is not accepted; tokenize the card with Qualpay Embedded Fields and send its card_id"})
			}
			return apperr.FieldErrors(map[string]string{f: "is not a known field"})
		default:
			return apperr.New(apperr.Invalid, "request body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "request body must hold one JSON object")
	}
	return nil
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) error {
	var in CustomerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	q, err := s.begin(r, false)
	if err != nil {
		return err
	}
	c, err := s.CreateCustomer(r.Context(), q.sc, in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, c)
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, false)
	if err != nil {
		return err
	}
	lq := ListQuery{Limit: 20, Cursor: r.URL.Query().Get("cursor"),
		Name: strings.ToLower(strings.TrimSpace(r.URL.Query().Get("name"))), Email: strings.ToLower(strings.TrimSpace(r.URL.Query().Get("email")))}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return apperr.New(apperr.Invalid, "limit must be an integer from 1 to 100")
		}
		lq.Limit = int32(n)
	}
	if len(lq.Name) > 64 || len(lq.Email) > 64 {
		return apperr.New(apperr.Invalid, "name and email filters are at most 64 characters")
	}
	items, next, err := s.ListCustomers(r.Context(), q.sc, lq)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, list[Summary]{Data: items, NextCursor: next})
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	c, err := s.GetCustomer(r.Context(), q.sc, q.customerID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handlePatch(w http.ResponseWriter, r *http.Request) error {
	var in CustomerPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	c, err := s.UpdateCustomer(r.Context(), q.sc, q.customerID, in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	confirm := false
	if v := r.URL.Query().Get("confirm"); v != "" {
		if confirm, err = strconv.ParseBool(v); err != nil {
			return apperr.New(apperr.Invalid, "confirm must be true or false")
		}
	}
	if err := s.DeleteCustomer(r.Context(), q.sc, q.customerID, confirm); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleAddCard(w http.ResponseWriter, r *http.Request) error {
	var in CardInput
	if err := decode(r, &in); err != nil {
		return err
	}
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	c, err := s.AddCard(r.Context(), q.sc, q.customerID, in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, c)
}

func (s *Service) handleListCards(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	cards, err := s.ListCards(r.Context(), q.sc, q.customerID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, list[Card]{Data: cards})
}

func (s *Service) handleUpdateCard(w http.ResponseWriter, r *http.Request) error {
	var in CardInput
	if err := decode(r, &in); err != nil {
		return err
	}
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	if in.CardID != "" && in.CardID != r.PathValue("card_id") {
		return apperr.FieldErrors(map[string]string{"card_id": "cannot be changed; add a new card instead"})
	}
	if in.Primary {
		return apperr.FieldErrors(map[string]string{"primary": "use POST …/cards/{card_id}/primary to change the primary card"})
	}
	c, err := s.UpdateCard(r.Context(), q.sc, q.customerID, r.PathValue("card_id"), in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleDeleteCard(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	if err := s.DeleteCard(r.Context(), q.sc, q.customerID, r.PathValue("card_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handlePrimaryCard(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	c, err := s.SetPrimaryCard(r.Context(), q.sc, q.customerID, r.PathValue("card_id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, c)
}

func (s *Service) handleAddAddress(w http.ResponseWriter, r *http.Request) error {
	var in AddressInput
	if err := decode(r, &in); err != nil {
		return err
	}
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	a, err := s.AddAddress(r.Context(), q.sc, q.customerID, in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, a)
}

func (s *Service) handleListAddresses(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	as, err := s.ListAddresses(r.Context(), q.sc, q.customerID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, list[Address]{Data: as})
}

func shippingID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("shipping_id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "shipping address not found")
	}
	return id, nil
}

func (s *Service) handleUpdateAddress(w http.ResponseWriter, r *http.Request) error {
	var in AddressInput
	if err := decode(r, &in); err != nil {
		return err
	}
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	id, err := shippingID(r)
	if err != nil {
		return err
	}
	a, err := s.UpdateAddress(r.Context(), q.sc, q.customerID, id, in)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, a)
}

func (s *Service) handleDeleteAddress(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	id, err := shippingID(r)
	if err != nil {
		return err
	}
	if err := s.DeleteAddress(r.Context(), q.sc, q.customerID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handlePrimaryAddress(w http.ResponseWriter, r *http.Request) error {
	q, err := s.begin(r, true)
	if err != nil {
		return err
	}
	id, err := shippingID(r)
	if err != nil {
		return err
	}
	a, err := s.SetPrimaryAddress(r.Context(), q.sc, q.customerID, id)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, a)
}
