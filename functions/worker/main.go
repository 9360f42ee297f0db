// Command worker consumes the work queue (SQS): Stripe payout itemisation and
// Qualpay deposit pulls.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/workerfn"
)

func main() {
	if err := app.Serve(os.Getenv, workerfn.Entry); err != nil {
		os.Exit(1)
	}
}
