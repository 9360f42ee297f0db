// Command notifications is the Lambda for /v1/webhook-endpoints… and /v1/events….
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/notifyfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, notifyfn.Handler); err != nil {
		os.Exit(1)
	}
}
