// Command bank-feed is the Lambda for POST /v1/companies/{id}/bank-transactions (Plaid sync pages).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, reconfn.BankFeedHandler); err != nil {
		os.Exit(1)
	}
}
