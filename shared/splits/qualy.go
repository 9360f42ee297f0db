package splits

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// Qualy's wire format. Qualy's payment-split guide
// (https://docs.qualyhq.com/docs/guides/creating-payment-splits) documents
// POST /v1/payment-splits/create with a camelCase body, "Authorization: ApiKey <key>"
// and "X-TENANT-ID: <tenant>"; its objects carry "_id". That route accepts the
// guide's request as it is and answers in the same names. It only renames
// fields: decoding, validation and computation are the snake_case API's own.

// qualyNames maps our snake_case field names to Qualy's. Fields not listed have
// the same name in both.
var qualyNames = map[string]string{
	"id":             "_id",
	"due_at":         "dueAt",
	"payment_intent": "paymentIntent",
	"tax_total":      "taxTotal",
	"amount_paid":    "amountPaid",
	"created_at":     "createdAt",
	"updated_at":     "updatedAt",
}

// snakeNames is the reverse of qualyNames.
var snakeNames = func() map[string]string {
	m := make(map[string]string, len(qualyNames))
	for snake, camel := range qualyNames {
		m[camel] = snake
	}
	return m
}()

// TenantHeader names the tenant (a company ID) on Qualy-format routes.
const TenantHeader = "X-TENANT-ID"

// fromQualy renames a Qualy request object's top-level fields to ours. A
// snake_case name that Qualy spells differently is refused as unknown, as the
// snake_case route refuses camelCase: one spelling per route.
func fromQualy(body []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		return nil, apperr.New(apperr.Invalid, "request body must be a JSON object")
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		if _, ok := qualyNames[k]; ok {
			return nil, apperr.New(apperr.Invalid, "unknown field %q", k)
		}
		if snake, ok := snakeNames[k]; ok {
			k = snake
		}
		out[k] = v
	}
	return json.Marshal(out)
}

// toQualy renames the top-level fields of v's JSON to Qualy's.
func toQualy(v any) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		if camel, ok := qualyNames[k]; ok {
			k = camel
		}
		out[k] = v
	}
	return out, nil
}

// qualyError renames the fields an error names, so a client reads the names it sent.
func qualyError(err error) error {
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make(map[string]string, len(e.Fields))
	for k, v := range e.Fields {
		if camel, ok := qualyNames[k]; ok {
			k = camel
		}
		out.Fields[k] = v
	}
	return &out
}

// handleCreateSplitQualy serves POST /v1/payment-splits/create.
func (s *Service) handleCreateSplitQualy(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.createSplitQualy(r)
	if err != nil {
		return qualyError(err)
	}
	out, err := toQualy(sp)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, out)
}

func (s *Service) createSplitQualy(r *http.Request) (Split, error) {
	ctx, p := r.Context(), pid(r)
	tenant := r.Header.Get(TenantHeader)
	if tenant == "" {
		return Split{}, apperr.New(apperr.Invalid, "the %s header is required: the ID of the company (tenant) the payment intent bills for", TenantHeader)
	}
	if _, err := s.Companies.Get(ctx, p, tenant); err != nil {
		return Split{}, err
	}
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return Split{}, err
	}
	if body, err = fromQualy(body); err != nil {
		return Split{}, err
	}
	d, err := DecodeSplit(body)
	if err != nil {
		return Split{}, err
	}
	in, _, err := s.Store.Intent(ctx, p, d.Split.PaymentIntent)
	if err != nil {
		return Split{}, err
	}
	if in.Company != tenant {
		// The same answer as an unknown intent: a tenant sees only its own.
		return Split{}, apperr.New(apperr.NotFound, "payment intent %s not found", d.Split.PaymentIntent)
	}
	return s.CreateSplit(ctx, p, d)
}
