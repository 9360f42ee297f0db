// Command plaid is the Lambda for the plaid function (see template.yaml):
// Plaid credentials, Link tokens, Items, the Plaid webhook and Item syncs.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/plaidfn"
)

func main() {
	if err := app.Serve(os.Getenv, plaidfn.Entry); err != nil {
		os.Exit(1)
	}
}
