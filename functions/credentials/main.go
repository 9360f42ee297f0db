// Command credentials is the Lambda for PUT/GET/DELETE /v1/integrations/{provider}.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/credentialsfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, credentialsfn.Handler); err != nil {
		os.Exit(1)
	}
}
