// Command stripe-oauth is the Lambda for GET /integrations/stripe, the Stripe Connect OAuth redirect.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, connectfn.StripeOAuthHandler); err != nil {
		os.Exit(1)
	}
}
