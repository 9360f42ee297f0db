package httpapi

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// LambdaHandler adapts an http.Handler to API Gateway HTTP API (payload v2) events.
type LambdaHandler func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Lambda wraps h with aws-lambda-go-api-proxy's v2 adapter (which also base64-decodes bodies).
func Lambda(h http.Handler) LambdaHandler {
	return httpadapter.NewV2(h).ProxyWithContext
}
