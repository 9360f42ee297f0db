package registry

import (
	"fmt"
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// Mount serves every HttpApi route of the template with its function's handler
// (only the named functions when names are given), as API Gateway would route them.
func Mount(e *app.Env, templatePath string, names ...string) (http.Handler, error) {
	routes, err := samtemplate.Routes(templatePath)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	built := map[string]http.Handler{}
	mux := http.NewServeMux()
	for _, rt := range routes {
		if len(want) > 0 && !want[rt.Function] {
			continue
		}
		h, ok := built[rt.Function]
		if !ok {
			build, found := Functions[rt.Function]
			if !found {
				return nil, fmt.Errorf("template function %q (%s) has no handler in registry.Functions", rt.Function, rt.LogicalID)
			}
			h = build(e)
			built[rt.Function] = h
		}
		mux.Handle(rt.Pattern(), h)
	}
	// Unknown paths get the same JSON 404 as API Gateway's "Not Found" would, in our error shape.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, nil, apperr.New(apperr.NotFound, "no route for %s %s", r.Method, r.URL.Path))
	}))
	return mux, nil
}
