// Command worker consumes the work queue (SQS): Stripe payout itemisation and
// Qualpay deposit pulls.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/app/workerfn"
)

func main() {
	// The jobs read partner credentials. Secrets Manager is added here, not in
	// workerfn, which the functions that only enqueue (bank feed, reports,
	// reconcile) link too.
	entry := func(e *app.Env) (any, error) {
		smclient.Use(e)
		return workerfn.Entry(e)
	}
	if err := app.Serve(os.Getenv, entry); err != nil {
		os.Exit(1)
	}
}
