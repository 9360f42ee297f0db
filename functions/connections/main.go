// Command connections is the Lambda for /v1/companies… (companies, Start Stripe Flow, link, disconnect).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/connectionsfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, connectionsfn.Handler); err != nil {
		os.Exit(1)
	}
}
