package app

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/credentials"
)

// CredentialsHandler serves /v1/integrations/{provider}.
func CredentialsHandler(e *Env) http.Handler {
	r := e.Router()
	credentials.Routes(r, e.Credentials)
	return r.Handler()
}
