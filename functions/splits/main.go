// Command splits is the Lambda for taxes, partnerships, payment intents and payment splits.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/splitsfn"
)

func main() {
	if err := app.Serve(os.Getenv, splitsfn.Entry); err != nil {
		os.Exit(1)
	}
}
