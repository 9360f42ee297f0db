// Package credentialsfn builds the credentials function.
package credentialsfn

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/app"
	"github.com/payrecon/payrecon/shared/app/smclient"
	"github.com/payrecon/payrecon/shared/credentials"
)

// Handler serves /v1/integrations/{provider}.
func Handler(e *app.Env) http.Handler {
	smclient.Use(e)
	r := e.Router()
	credentials.Routes(r, e.Credentials)
	return r.Handler()
}
