// Command stripe-webhook is the Lambda for the stripe-webhook function (see template.yaml).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/webhookfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, webhookfn.StripeHandler); err != nil {
		os.Exit(1)
	}
}
