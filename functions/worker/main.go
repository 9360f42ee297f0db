// Command worker consumes the work queue (SQS): Stripe payout itemisation and
// Qualpay deposit pulls.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
)

func main() {
	if err := app.ServeSQSWorker(os.Getenv); err != nil {
		os.Exit(1)
	}
}
