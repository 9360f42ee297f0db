// Command payments is the Lambda for the payments function (see template.yaml).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, app.PaymentsHandler); err != nil {
		os.Exit(1)
	}
}
