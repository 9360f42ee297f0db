// Command reconcile is the Lambda for reconciliation: on-demand runs and manual
// matches over HTTP, the hourly schedule, and the per-company queue it fans out to.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconfn"
)

func main() {
	if err := app.Serve(os.Getenv, reconfn.Entry); err != nil {
		os.Exit(1)
	}
}
