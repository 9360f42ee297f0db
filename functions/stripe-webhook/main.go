// Command stripe-webhook is the Lambda for the stripe-webhook function (see template.yaml).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, app.StripeWebhookHandler); err != nil {
		os.Exit(1)
	}
}
