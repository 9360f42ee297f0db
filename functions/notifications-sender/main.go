// Command notifications-sender signs and POSTs partner webhook deliveries from
// the SQS FIFO delivery queue, with retries.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/notifyfn"
)

func main() {
	if err := app.Serve(os.Getenv, notifyfn.SenderEntry); err != nil {
		os.Exit(1)
	}
}
