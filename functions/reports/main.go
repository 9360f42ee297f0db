// Command reports is the Lambda for GET /v1/companies/{id}/{matches,journal-entries,exceptions,bank-transactions}.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/reconfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, reconfn.ReportsHandler); err != nil {
		os.Exit(1)
	}
}
