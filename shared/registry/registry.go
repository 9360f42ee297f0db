// Package registry lists every HTTP function's handler builder. Only the local
// runner and tests import it: a Lambda binary imports just its own builder, so
// the linker leaves the other functions' code out of it.
package registry

import (
	"net/http"
	"sort"

	"github.com/payrecon/payrecon/shared/app"
)

// Functions maps each HTTP function's folder name (functions/<name>, CodeUri in
// template.yaml) to the builder of the http.Handler it serves. Lambda mains call
// exactly one; the local runner mounts them all on the template's routes.
// Add one line per function (the builder lives in shared/app/fn_<name>.go).
var Functions = map[string]func(*app.Env) http.Handler{
	"credentials":     app.CredentialsHandler,
	"connections":     app.ConnectionsHandler,
	"stripe-oauth":    app.StripeOAuthHandler,
	"stripe-webhook":  app.StripeWebhookHandler,
	"qualpay-webhook": app.QualpayWebhookHandler,
	"payments":        app.PaymentsHandler,
	"vault":           app.VaultHandler,
	"splits":          app.SplitsHandler,
	"bank-feed":       app.BankFeedHandler,
	"reconcile":       app.ReconcileHandler,
	"reports":         app.ReportsHandler,
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
