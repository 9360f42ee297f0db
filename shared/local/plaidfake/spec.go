package plaidfake

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Module is the plaid-go module whose api/openapi.yaml (Plaid's own OpenAPI,
// shipped with its official Go client) the fake checks every call against.
const Module = "github.com/plaid/plaid-go/v20"

// SpecPath finds api/openapi.yaml in the plaid-go module the build uses (never copied here).
func SpecPath() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		return "", fmt.Errorf("locate %s: %w", Module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("%s is not downloaded (go mod download %s)", Module, Module)
	}
	return filepath.Join(dir, "api", "openapi.yaml"), nil
}

// Spec is the loaded document and its router.
type Spec struct {
	Doc    *openapi3.T
	Router routers.Router
	// Errata lists where the document is corrected to match Plaid's documented API.
	Errata []string
}

var (
	specOnce sync.Once
	spec     *Spec
	specErr  error
)

// LoadSpec loads the spec once per process (it is 5 MB and takes ~2 s).
func LoadSpec() (*Spec, error) {
	specOnce.Do(func() {
		p, err := SpecPath()
		if err != nil {
			specErr = err
			return
		}
		doc, err := openapi3.NewLoader().LoadFromFile(p)
		if err != nil {
			specErr = fmt.Errorf("load plaid spec %s: %w", p, err)
			return
		}
		// The document's servers are Plaid's hosts; the fake serves on
		// loopback, so route on the path alone.
		doc.Servers = openapi3.Servers{{URL: "/"}}
		errata := fixErrorTypes(doc)
		r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
		if err != nil {
			specErr = fmt.Errorf("plaid spec router: %w", err)
			return
		}
		spec = &Spec{Doc: doc, Router: r, Errata: errata}
	})
	return spec, specErr
}

// fixErrorTypes adds TRANSACTIONS_ERROR to PlaidError.error_type: Plaid
// documents TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION with error_type
// TRANSACTIONS_ERROR (https://plaid.com/docs/errors/transactions/), which the
// document's enum lacks.
func fixErrorTypes(doc *openapi3.T) []string {
	pe := doc.Components.Schemas["PlaidError"]
	if pe == nil || pe.Value == nil {
		return nil
	}
	et := pe.Value.Properties["error_type"]
	if et == nil || et.Value == nil {
		return nil
	}
	for _, v := range et.Value.Enum {
		if v == "TRANSACTIONS_ERROR" {
			return nil
		}
	}
	// error_type may be a shared $ref (PlaidErrorType): the enum is changed there once.
	et.Value.Enum = append(et.Value.Enum, "TRANSACTIONS_ERROR")
	return []string{"PlaidError.error_type: added TRANSACTIONS_ERROR (documented, missing from the enum)"}
}
