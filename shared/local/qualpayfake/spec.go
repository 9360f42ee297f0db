package qualpayfake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// SpecPath finds the spec relative to the module root (it walks up from dir to
// the first go.mod): the repository's specs/qualpay-openapi.yaml, else the
// team's ../shared/specs/qualpay-openapi.yaml.
func SpecPath(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if p := filepath.Join(d, "specs", "qualpay-openapi.yaml"); fileExists(p) {
				return p, nil
			}
			p := filepath.Join(d, "..", "shared", "specs", "qualpay-openapi.yaml")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("qualpay spec not found next to module root %s: %w", d, err)
			}
			return filepath.Clean(p), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("qualpay spec: no go.mod above " + dir)
		}
		d = parent
	}
}

// Spec is a loaded, prepared Qualpay OpenAPI document and its router.
type Spec struct {
	Doc    *openapi3.T
	Router routers.Router
	// Errata lists the corrections applied to the published document.
	Errata []string
}

type specEntry struct {
	once sync.Once
	spec *Spec
	err  error
}

// specs caches parsed documents per path: the file is 800 kB and takes a few
// hundred milliseconds to load, and every fake in a test binary shares it.
var specs sync.Map

// LoadSpec loads (once per process and path) the spec at path.
func LoadSpec(path string) (*Spec, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	v, _ := specs.LoadOrStore(abs, &specEntry{})
	e := v.(*specEntry)
	e.once.Do(func() { e.spec, e.err = loadSpec(abs) })
	return e.spec, e.err
}

func loadSpec(path string) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load qualpay spec %s: %w", path, err)
	}
	s := &Spec{Doc: doc}
	s.Errata = append(s.Errata, declarePathParams(doc)...)
	s.Errata = append(s.Errata, listDataAsArrays(doc)...)
	closeObjects(doc)
	// Examples in the published document are not all valid against their
	// own schemas (e.g. a numeric phone example for a string); they are
	// documentation, not contract, so they are not validated.
	r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("qualpay spec %s: %w", path, err)
	}
	s.Router = r
	return s, nil
}

// declarePathParams fixes operations that use a path template variable
// without declaring it (the subscription label operations): kin-openapi
// rightly refuses to route such a document. The variable is added as a
// string path parameter.
func declarePathParams(doc *openapi3.T) []string {
	var fixed []string
	for path, item := range doc.Paths.Map() {
		want := templateVars(path)
		for method, op := range item.Operations() {
			have := map[string]bool{}
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value != nil && p.Value.In == openapi3.ParameterInPath {
					have[p.Value.Name] = true
				}
			}
			for _, v := range want {
				if !have[v] {
					op.Parameters = append(op.Parameters, &openapi3.ParameterRef{
						Value: openapi3.NewPathParameter(v).WithSchema(openapi3.NewStringSchema())})
					fixed = append(fixed, fmt.Sprintf("%s %s: declared path parameter %s", method, path, v))
				}
			}
		}
	}
	sort.Strings(fixed)
	return fixed
}

func templateVars(path string) []string {
	var out []string
	for i := 0; i < len(path); i++ {
		if path[i] == '{' {
			for j := i + 1; j < len(path); j++ {
				if path[j] == '}' {
					out = append(out, path[i+1:j])
					i = j
					break
				}
			}
		}
	}
	return out
}

// listDataAsArrays: the published document declares `data` of paginated
// responses such as DepositResponse as a single object, though each is "an
// array of the resource object" (totalPages/totalRecords alongside) and
// Qualpay's earlier published spec (and generated clients) type it as a list.
// The fake serves arrays and validates them as arrays.
func listDataAsArrays(doc *openapi3.T) []string {
	var fixed []string
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if s == nil || s.Properties["totalPages"] == nil || s.Properties["data"] == nil {
			continue
		}
		data := s.Properties["data"]
		if data.Value != nil && data.Value.Type.Is(openapi3.TypeArray) {
			continue
		}
		arr := openapi3.NewArraySchema()
		arr.Items = data
		s.Properties["data"] = openapi3.NewSchemaRef("", arr)
		fixed = append(fixed, name+".data: object -> array of "+data.Ref)
	}
	sort.Strings(fixed)
	return fixed
}

// closeObjects makes every object schema that lists properties reject
// undeclared ones. Qualpay ignores unknown fields, so a misspelt field name
// in our client would otherwise pass silently; here it is a contract
// violation. It applies to the fake's own responses too.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var visit func(*openapi3.SchemaRef)
	visit = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			visit(p)
		}
		visit(s.Items)
		visit(s.AdditionalProperties.Schema)
		for _, x := range s.AllOf {
			visit(x)
		}
		for _, x := range s.OneOf {
			visit(x)
		}
		for _, x := range s.AnyOf {
			visit(x)
		}
		visit(s.Not)
	}
	for _, ref := range doc.Components.Schemas {
		visit(ref)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					visit(mt.Schema)
				}
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					for _, mt := range r.Value.Content {
						visit(mt.Schema)
					}
				}
			}
		}
	}
}

// itemFields lists the properties of the items a browse operation returns
// (from its 200 response's data array), for validating filter and order fields.
func (s *Spec) itemFields(path, method string) map[string]bool {
	item := s.Doc.Paths.Value(path)
	if item == nil {
		return nil
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil
	}
	r := op.Responses.Status(200)
	if r == nil || r.Value == nil {
		return nil
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil
	}
	data := mt.Schema.Value.Properties["data"]
	if data == nil || data.Value == nil || data.Value.Items == nil || data.Value.Items.Value == nil {
		return nil
	}
	out := map[string]bool{}
	for k := range data.Value.Items.Value.Properties {
		out[k] = true
	}
	return out
}

// Validate re-checks the prepared document (used by the fake's own tests).
func (s *Spec) Validate(ctx context.Context) error {
	return s.Doc.Validate(ctx, openapi3.DisableExamplesValidation())
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
