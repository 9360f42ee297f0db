package credentials_test

import (
	"context"
	"testing"

	"github.com/payrecon/payrecon/shared/local/testenv"
)

// In-process latency of the credentials API against the local stack
// (DynamoDB Local, moto_server, stripe-mock), through the HTTP handler.
func BenchmarkCredentialsPutStripe(b *testing.B) {
	env := testenv.New(b)
	_, key := env.Partner("Bench")
	srv := env.Server("credentials")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := testenv.Do(b, "PUT", srv.URL+"/v1/integrations/stripe", key, stripeBody()); res.Status != 200 {
			b.Fatal(res.Status)
		}
	}
}

func BenchmarkCredentialsGet(b *testing.B) {
	env := testenv.New(b)
	_, key := env.Partner("Bench")
	srv := env.Server("credentials")
	if res := testenv.Do(b, "PUT", srv.URL+"/v1/integrations/stripe", key, stripeBody()); res.Status != 200 {
		b.Fatal(res.Status)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := testenv.Do(b, "GET", srv.URL+"/v1/integrations/stripe", key, nil); res.Status != 200 {
			b.Fatal(res.Status)
		}
	}
}

// The partner lookup behind every /v1 request.
func BenchmarkAuthenticate(b *testing.B) {
	env := testenv.New(b)
	_, key := env.Partner("Bench")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := env.Partners.Authenticate(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
