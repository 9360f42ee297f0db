// Command vault is the Lambda for /v1/companies/{id}/qualpay/customers… (Qualpay
// Customer Vault) and the daily Qualpay Account Updater pass.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/vaultfn"
)

func main() {
	if err := app.Serve(os.Getenv, vaultfn.Entry); err != nil {
		os.Exit(1)
	}
}
