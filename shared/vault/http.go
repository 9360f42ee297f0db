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
	cust := base + "/{customer_id}"
	r.Handle(http.MethodPost, base, withBody(s, http.StatusCreated, false, func(r *http.Request, q request, in CustomerInput) (any, error) {
		return s.CreateCustomer(r.Context(), q.sc, in)
	}))
	r.Handle(http.MethodGet, base, s.serve(http.StatusOK, false, s.listCustomers))
	r.Handle(http.MethodGet, cust, s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		return s.GetCustomer(r.Context(), q.sc, q.customerID)
	}))
	r.Handle(http.MethodPatch, cust, withBody(s, http.StatusOK, true, func(r *http.Request, q request, in CustomerPatch) (any, error) {
		return s.UpdateCustomer(r.Context(), q.sc, q.customerID, in)
	}))
	r.Handle(http.MethodDelete, cust, s.serve(http.StatusNoContent, true, s.deleteCustomer))

	r.Handle(http.MethodPost, cust+"/cards", withBody(s, http.StatusCreated, true, func(r *http.Request, q request, in CardInput) (any, error) {
		return s.AddCard(r.Context(), q.sc, q.customerID, in)
	}))
	r.Handle(http.MethodGet, cust+"/cards", s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		cards, err := s.ListCards(r.Context(), q.sc, q.customerID)
		return list[Card]{Data: cards}, err
	}))
	r.Handle(http.MethodPatch, cust+"/cards/{card_id}", withBody(s, http.StatusOK, true, s.updateCard))
	r.Handle(http.MethodDelete, cust+"/cards/{card_id}", s.serve(http.StatusNoContent, true, func(r *http.Request, q request) (any, error) {
		return nil, s.DeleteCard(r.Context(), q.sc, q.customerID, r.PathValue("card_id"))
	}))
	r.Handle(http.MethodPost, cust+"/cards/{card_id}/primary", s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		return s.SetPrimaryCard(r.Context(), q.sc, q.customerID, r.PathValue("card_id"))
	}))

	addr := cust + "/shipping-addresses/{shipping_id}"
	r.Handle(http.MethodPost, cust+"/shipping-addresses", withBody(s, http.StatusCreated, true, func(r *http.Request, q request, in AddressInput) (any, error) {
		return s.AddAddress(r.Context(), q.sc, q.customerID, in)
	}))
	r.Handle(http.MethodGet, cust+"/shipping-addresses", s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		as, err := s.ListAddresses(r.Context(), q.sc, q.customerID)
		return list[Address]{Data: as}, err
	}))
	r.Handle(http.MethodPatch, addr, withBody(s, http.StatusOK, true, func(r *http.Request, q request, in AddressInput) (any, error) {
		id, err := shippingID(r)
		if err != nil {
			return nil, err
		}
		return s.UpdateAddress(r.Context(), q.sc, q.customerID, id, in)
	}))
	r.Handle(http.MethodDelete, addr, s.serve(http.StatusNoContent, true, func(r *http.Request, q request) (any, error) {
		id, err := shippingID(r)
		if err != nil {
			return nil, err
		}
		return nil, s.DeleteAddress(r.Context(), q.sc, q.customerID, id)
	}))
	r.Handle(http.MethodPost, addr+"/primary", s.serve(http.StatusOK, true, func(r *http.Request, q request) (any, error) {
		id, err := shippingID(r)
		if err != nil {
			return nil, err
		}
		return s.SetPrimaryAddress(r.Context(), q.sc, q.customerID, id)
	}))
	recurringRoutes(r, s) // http_recurring.go
}

// serve answers a vault route: it checks the path and the company (begin),
// runs call and writes its result with status (204: no body).
func (s *Service) serve(status int, withCustomer bool, call func(r *http.Request, q request) (any, error)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := s.begin(r, withCustomer)
		if err != nil {
			return err
		}
		v, err := call(r, q)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return nil
		}
		return httpapi.WriteJSON(w, status, v)
	}
}

// withBody decodes the JSON body into T before anything else, so a card number
// in it is refused before the request goes any further, then serves like serve.
func withBody[T any](s *Service, status int, withCustomer bool, call func(r *http.Request, q request, in T) (any, error)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in T
		if err := decode(r, &in); err != nil {
			return err
		}
		return s.serve(status, withCustomer, func(r *http.Request, q request) (any, error) { return call(r, q, in) })(w, r)
	}
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

func (s *Service) listCustomers(r *http.Request, q request) (any, error) {
	lq := ListQuery{Limit: 20, Cursor: r.URL.Query().Get("cursor"),
		Name: strings.ToLower(strings.TrimSpace(r.URL.Query().Get("name"))), Email: strings.ToLower(strings.TrimSpace(r.URL.Query().Get("email")))}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, apperr.New(apperr.Invalid, "limit must be an integer from 1 to 100")
		}
		lq.Limit = int32(n)
	}
	if len(lq.Name) > 64 || len(lq.Email) > 64 {
		return nil, apperr.New(apperr.Invalid, "name and email filters are at most 64 characters")
	}
	items, next, err := s.ListCustomers(r.Context(), q.sc, lq)
	return list[Summary]{Data: items, NextCursor: next}, err
}

func (s *Service) deleteCustomer(r *http.Request, q request) (any, error) {
	confirm := false
	if v := r.URL.Query().Get("confirm"); v != "" {
		var err error
		if confirm, err = strconv.ParseBool(v); err != nil {
			return nil, apperr.New(apperr.Invalid, "confirm must be true or false")
		}
	}
	return nil, s.DeleteCustomer(r.Context(), q.sc, q.customerID, confirm)
}

func (s *Service) updateCard(r *http.Request, q request, in CardInput) (any, error) {
	if in.CardID != "" && in.CardID != r.PathValue("card_id") {
		return nil, apperr.FieldErrors(map[string]string{"card_id": "cannot be changed; add a new card instead"})
	}
	if in.Primary {
		return nil, apperr.FieldErrors(map[string]string{"primary": "use POST …/cards/{card_id}/primary to change the primary card"})
	}
	return s.UpdateCard(r.Context(), q.sc, q.customerID, r.PathValue("card_id"), in)
}

func shippingID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("shipping_id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "shipping address not found")
	}
	return id, nil
}
