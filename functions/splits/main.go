// Command splits is the Lambda for taxes, partnerships, payment intents and payment splits.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, app.SplitsHandler); err != nil {
		os.Exit(1)
	}
}
