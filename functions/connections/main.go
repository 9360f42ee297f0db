// Command connections is the Lambda for /v1/companies… (companies, Start Stripe Flow, link, disconnect).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, connectfn.ConnectionsHandler); err != nil {
		os.Exit(1)
	}
}
