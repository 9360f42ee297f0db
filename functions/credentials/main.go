// Command credentials is the Lambda for PUT/GET/DELETE /v1/integrations/{provider}.
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, app.CredentialsHandler); err != nil {
		os.Exit(1)
	}
}
