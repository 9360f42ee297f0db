// Command notifications-relay fans outbox events out to the delivery queue
// (DynamoDB stream of the table, plus a sweep every 5 minutes).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/notifyfn"
)

func main() {
	if err := app.Serve(os.Getenv, notifyfn.RelayEntry); err != nil {
		os.Exit(1)
	}
}
