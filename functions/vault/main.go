// Command vault is the Lambda for /v1/companies/{id}/qualpay/customers… (Qualpay Customer Vault).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/vaultfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, vaultfn.Handler); err != nil {
		os.Exit(1)
	}
}
