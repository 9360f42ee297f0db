// Package registry lists every HTTP function's handler builder. Only the local
// runner and tests import it: a Lambda binary imports just its own builder's
// package (shared/app/<name>fn), so it links and initialises no other function's code.
package registry

import (
	"sort"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
	"github.com/payrecon/payrecon/shared/app/connectionsfn"
	"github.com/payrecon/payrecon/shared/app/credentialsfn"
	"github.com/payrecon/payrecon/shared/app/embeddedfn"
	"github.com/payrecon/payrecon/shared/app/notifyfn"
	"github.com/payrecon/payrecon/shared/app/paymentsfn"
	"github.com/payrecon/payrecon/shared/app/plaidfn"
	"github.com/payrecon/payrecon/shared/app/reconfn"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
	"github.com/payrecon/payrecon/shared/app/vaultfn"
	"github.com/payrecon/payrecon/shared/app/webhookfn"
)

// Functions maps each HTTP function's folder name (functions/<name>, CodeUri in
// template.yaml) to the builder of the http.Handler it serves. Lambda mains call
// exactly one; the local runner mounts them all on the template's routes.
// Add one line per function (the builder lives in shared/app/<name>fn).
var Functions = map[string]app.Builder{
	"credentials":     credentialsfn.Handler,
	"connections":     connectionsfn.Handler,
	"stripe-oauth":    connectfn.StripeOAuthHandler,
	"stripe-webhook":  webhookfn.StripeHandler,
	"qualpay-webhook": webhookfn.QualpayHandler,
	"payments":        paymentsfn.Handler,
	"vault":           vaultfn.Handler,
	"splits":          splitsfn.Handler,
	"bank-feed":       reconfn.BankFeedHandler,
	"reconcile":       reconfn.ReconcileHandler,
	"reports":         reconfn.ReportsHandler,
	"embedded":        embeddedfn.Handler,
	"plaid":           plaidfn.Handler,
	"notifications":   notifyfn.Handler,
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
