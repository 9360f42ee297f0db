// Command payments is the Lambda for the payments function (see template.yaml).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/paymentsfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, paymentsfn.Handler); err != nil {
		os.Exit(1)
	}
}
