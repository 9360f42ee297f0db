// Command vault is the Lambda for /v1/companies/{id}/qualpay/customers… (Qualpay Customer Vault).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, app.VaultHandler); err != nil {
		os.Exit(1)
	}
}
