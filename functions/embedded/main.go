// Command embedded is the Lambda for embed sessions and the Embedded UI (/embed…).
package main

import (
	"os"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/embeddedfn"
)

func main() {
	if err := app.ServeHTTPLambda(os.Getenv, embeddedfn.Handler); err != nil {
		os.Exit(1)
	}
}
