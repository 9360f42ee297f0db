package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payrecon/payrecon/shared/httpapi"
)

type keys map[string]string

func (k keys) Authenticate(_ context.Context, key string) (string, error) {
	if p, ok := k[key]; ok {
		return p, nil
	}
	return "", errors.New("unknown key")
}

// TestRouter: a static path beside a wildcard one ("/x/create" and "/x/{id}"),
// 405 with Allow per method, and both API-key schemes.
func TestRouter(t *testing.T) {
	r := httpapi.NewRouter(nil, keys{"k1": "ptr_1"})
	ok := func(w http.ResponseWriter, r *http.Request) error {
		_, err := w.Write([]byte(httpapi.PartnerID(r.Context()) + " " + r.Pattern))
		return err
	}
	r.Handle(http.MethodPost, "/v1/things/create", ok)
	r.Handle(http.MethodGet, "/v1/things/{id}", ok)
	r.Handle(http.MethodDelete, "/v1/things/{id}", ok)
	r.Elsewhere(http.MethodPost, "/v1/things/{id}/archive") // another function serves it
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		name, method, path, auth string
		status                   int
		allow, body              string
	}{
		{"static route", "POST", "/v1/things/create", "Bearer k1", 200, "", "ptr_1 POST /v1/things/create"},
		{"ApiKey scheme (Qualy's)", "POST", "/v1/things/create", "ApiKey k1", 200, "", "ptr_1 POST /v1/things/create"},
		{"wildcard beside it", "GET", "/v1/things/th_1", "Bearer k1", 200, "", "ptr_1 GET /v1/things/{id}"},
		{"other method on the static path", "GET", "/v1/things/create", "Bearer k1", 405, "POST", ""},
		{"other method on the wildcard path", "PUT", "/v1/things/th_1", "Bearer k1", 405, "DELETE, GET, HEAD", ""},
		{"a method no route has, on the static path (most specific path's Allow)", "PUT", "/v1/things/create", "Bearer k1", 405, "POST", ""},
		{"HEAD on the static path (GET would take it)", "HEAD", "/v1/things/create", "Bearer k1", 405, "POST", ""},
		{"OPTIONS on the wildcard path", "OPTIONS", "/v1/things/th_2", "Bearer k1", 405, "DELETE, GET, HEAD", ""},
		{"escaped slash in the wildcard segment (one segment, as the mux reads it)", "PUT", "/v1/things/a%2Fb", "Bearer k1", 405, "DELETE, GET, HEAD", ""},
		{"one segment more", "GET", "/v1/things/th_1/more", "Bearer k1", 404, "", ""},
		{"a path another function serves, wrong method", "GET", "/v1/things/th_1/archive", "Bearer k1", 405, "POST", ""},
		{"empty wildcard segment", "DELETE", "/v1/things/", "Bearer k1", 404, "", ""},
		{"unknown scheme", "POST", "/v1/things/create", "Basic k1", 401, "", ""},
		{"unknown path", "GET", "/v1/nothing", "Bearer k1", 404, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			req.Header.Set("Authorization", tc.auth)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			buf := make([]byte, 256)
			n, _ := res.Body.Read(buf)
			if res.StatusCode != tc.status || res.Header.Get("Allow") != tc.allow || (tc.body != "" && string(buf[:n]) != tc.body) {
				t.Fatalf("%d allow %q body %q", res.StatusCode, res.Header.Get("Allow"), buf[:n])
			}
		})
	}
}
