// Command qualpay-webhook is the Lambda for the qualpay-webhook function (see template.yaml).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/webhookfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, webhookfn.QualpayHandler); err != nil {
		os.Exit(1)
	}
}
