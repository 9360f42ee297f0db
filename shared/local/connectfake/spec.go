package connectfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is Stripe's OpenAPI document, the one stripe-mock serves
// (embedded/openapi/spec3.json of github.com/stripe/stripe-mock@v0.203.0).
type Spec struct {
	doc *openapi3.T
}

var (
	specOnce sync.Once
	specDoc  *Spec
	specErr  error
)

// StripeMockSpecPath finds spec3.json in the Go module cache (the module is in
// go.mod's tool set; `go mod download github.com/stripe/stripe-mock@v0.203.0`).
func StripeMockSpecPath() (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "github.com", "stripe", "stripe-mock@v0.203.0", "embedded", "openapi", "spec3.json"), nil
}

// LoadSpec loads the document once per process (it is 8 MB; ~3 s).
func LoadSpec(path string) (*Spec, error) {
	specOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromFile(path)
		if err != nil {
			specErr = fmt.Errorf("load %s: %w", path, err)
			return
		}
		specDoc = &Spec{doc: doc}
	})
	return specDoc, specErr
}

// operation finds the spec's operation for a concrete path ("/v1/transfers/tr_1/reversals").
func (s *Spec) operation(method, path string) *openapi3.Operation {
	parts := strings.Split(path, "/")
	for tmpl, item := range s.doc.Paths.Map() {
		tp := strings.Split(tmpl, "/")
		if len(tp) != len(parts) {
			continue
		}
		ok := true
		for i := range tp {
			if tp[i] != parts[i] && !strings.HasPrefix(tp[i], "{") {
				ok = false
				break
			}
		}
		if ok {
			if op := item.GetOperation(method); op != nil {
				return op
			}
		}
	}
	return nil
}

// CheckRequest refuses parameters the endpoint does not take (Stripe answers
// "Received unknown parameter").
func (s *Spec) CheckRequest(r *http.Request) error {
	if s == nil {
		return nil
	}
	op := s.operation(r.Method, r.URL.Path)
	if op == nil {
		return fmt.Errorf("%s %s is not in Stripe's API", r.Method, r.URL.Path)
	}
	known := map[string]bool{}
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.In == "query" {
			known[p.Value.Name] = true
		}
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if mt := op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded"); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
			for name := range mt.Schema.Value.Properties {
				known[name] = true
			}
		}
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params = r.PostForm
	}
	for k := range params {
		base, _, _ := strings.Cut(k, "[")
		if !known[base] {
			return fmt.Errorf("received unknown parameter: %s", base)
		}
	}
	return nil
}

// CheckObject validates an answer against a component schema ("transfer",
// "transfer_reversal", "payment_intent", "charge", "account").
func (s *Spec) CheckObject(schema string, obj map[string]any) error {
	if s == nil || schema == "" {
		return nil
	}
	ref := s.doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("no schema %q", schema)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return ref.Value.VisitJSON(v, openapi3.MultiErrors())
}
