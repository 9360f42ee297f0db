package app

import (
	"net/http"
	"sort"
)

// Functions maps each HTTP function's folder name (functions/<name>, CodeUri in
// template.yaml) to the builder of the http.Handler it serves. Lambda mains call
// exactly one; the local runner mounts them all on the template's routes.
// Add one line per function.
var Functions = map[string]func(*Env) http.Handler{
	"credentials": CredentialsHandler,
}

// FunctionNames lists registered functions, sorted.
func FunctionNames() []string {
	out := make([]string, 0, len(Functions))
	for k := range Functions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
