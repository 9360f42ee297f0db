package qualpayfake_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// sink records violations instead of failing, so tests can expect them.
type sink struct {
	mu   sync.Mutex
	msgs []string
}

func (s *sink) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, fmt.Sprintf(format, args...))
}

func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs
	s.msgs = nil
	return m
}

func specPath(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	p, err := qualpayfake.SpecPath(wd)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newFake(t *testing.T) (*qualpayfake.Fake, *sink, *httptest.Server) {
	t.Helper()
	s := &sink{}
	f, err := qualpayfake.New(s, qualpayfake.Config{SpecPath: specPath(t), SecurityKey: "fakekey123"})
	if err != nil {
		t.Fatal(err)
	}
	f.AddMerchant(qualpayfake.Merchant{ID: 1001, DBAName: "Shop"})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, s, srv
}

func do(t *testing.T, srv *httptest.Server, method, path, body, user string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.SetBasicAuth(user, "")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestContractViolations(t *testing.T) {
	f, s, srv := newFake(t)
	const key = "fakekey123"
	if st, body := do(t, srv, "POST", "/platform/vault/customer", `{"customer_id":"C1","customer_first_name":"A","customer_last_name":"B","merchant_id":1001}`, key); st != 200 {
		t.Fatalf("seed customer: %d %s", st, body)
	}
	tests := []struct {
		name          string
		method, path  string
		body, user    string
		wantStatus    int
		wantViolation string // "" = none
	}{
		{"valid request", "GET", "/platform/vault/customer/C1?merchant_id=1001", "", key, 200, ""},
		{"misspelt field", "POST", "/platform/vault/customer", `{"customer_id":"C2","customer_firstname":"A","customer_last_name":"B","merchant_id":1001}`, key, 400, "customer_firstname"},
		{"missing required field", "POST", "/platform/vault/customer/C1/billing", `{"card_id":"86e1b00d9b0811e68df3069d8f743581","merchant_id":1001}`, key, 400, "billing_zip"},
		{"wrong type", "POST", "/platform/vault/customer", `{"customer_id":"C3","customer_first_name":"A","customer_last_name":"B","merchant_id":"1001"}`, key, 400, "merchant_id"},
		{"customer_id is immutable", "PUT", "/platform/vault/customer/C1", `{"customer_id":"C9","merchant_id":1001}`, key, 400, "customer_id"},
		{"page size over 100", "GET", "/platform/reporting/deposits?count=500", "", key, 400, "count"},
		{"unknown path", "GET", "/platform/vault/customers", "", key, 404, "no such operation"},
		{"no credentials", "GET", "/platform/vault/customer/C1?merchant_id=1001", "", "", 401, "basic"},
		{"wrong key is refused, not a violation", "GET", "/platform/vault/customer/C1?merchant_id=1001", "", "otherkey", 401, ""},
		{"business error is spec'd", "GET", "/platform/vault/customer/NOPE?merchant_id=1001", "", key, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.take()
			st, body := do(t, srv, tc.method, tc.path, tc.body, tc.user)
			if st != tc.wantStatus {
				t.Errorf("status %d (%s), want %d", st, body, tc.wantStatus)
			}
			got := s.take()
			switch {
			case tc.wantViolation == "" && len(got) > 0:
				t.Errorf("unexpected violations: %v", got)
			case tc.wantViolation != "" && (len(got) == 0 || !strings.Contains(got[0], tc.wantViolation)):
				t.Errorf("violations %v, want one mentioning %q", got, tc.wantViolation)
			}
		})
	}
	if c, ok := f.Customer(1001, "C1"); !ok || c.CustomerID != "C1" {
		t.Errorf("customer after immutability attempt: %+v", c)
	}
}

func TestResponsesAreValidated(t *testing.T) {
	f, s, srv := newFake(t)
	// batch_date is a date-time in the spec; a bare date served back is a
	// contract violation of the fake's own response.
	f.SeedSettlements(qualpay.SettlementRecord{MerchantID: 1001, BatchDate: "2024-03-01"})
	st, _ := do(t, srv, "GET", "/platform/reporting/statement-report/settlement?filter=merchant_id,EQ,1001", "", "fakekey123")
	got := s.take()
	if st != 200 || len(got) != 1 || !strings.Contains(got[0], "response") || !strings.Contains(got[0], "batch_date") {
		t.Fatalf("status %d, violations %v", st, got)
	}
}

func TestSpecLoading(t *testing.T) {
	p := specPath(t)
	a, err := qualpayfake.LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := qualpayfake.LoadSpec(p)
	if a != b {
		t.Error("spec not cached per process")
	}
	errata := strings.Join(a.Errata, "\n")
	for _, want := range []string{"DepositResponse.data: object -> array", "SettledTransactionResponse.data", "labels/add: declared path parameter subscription_id"} {
		if !strings.Contains(errata, want) {
			t.Errorf("errata lack %q:\n%s", want, errata)
		}
	}
	t.Run("found from a subdirectory", func(t *testing.T) {
		wd, _ := os.Getwd()
		got, err := qualpayfake.SpecPath(filepath.Join(wd, "..", ".."))
		if err != nil || got != p {
			t.Fatalf("SpecPath = %q, %v; want %q", got, err, p)
		}
	})
	t.Run("no module root", func(t *testing.T) {
		if _, err := qualpayfake.SpecPath(t.TempDir()); err == nil {
			t.Fatal("found a spec without a go.mod")
		}
	})
	t.Run("explicit path in Start", func(t *testing.T) {
		srv := qualpayfake.Start(t, qualpayfake.Config{SpecPath: p})
		if srv.URL == "" || srv.Key() != qualpayfake.DefaultKey {
			t.Fatalf("started %+v", srv)
		}
	})
}

func TestFaults(t *testing.T) {
	f, s, srv := newFake(t)
	f.InjectFault(qualpayfake.Fault{PathPrefix: "/platform/vendor", Status: 503, RetryAfter: "7", After: 1, Times: 1})
	path := "/platform/vendor/settings/1001"
	var got []int
	for range 3 {
		st, _ := do(t, srv, "GET", path, "", "fakekey123")
		got = append(got, st)
	}
	if fmt.Sprint(got) != "[200 503 200]" {
		t.Fatalf("statuses %v", got)
	}
	reqs := f.Requests()
	if len(reqs) != 3 || !reqs[1].Fault || reqs[1].Operation != "getMerchantSettings" {
		t.Fatalf("log %+v", reqs)
	}
	if v := s.take(); len(v) != 0 {
		t.Fatalf("violations %v", v)
	}
	f.ClearFaults()
}

func TestTokenize(t *testing.T) {
	f, _, _ := newFake(t)
	for _, tc := range []struct {
		name, pan string
		ok        bool
	}{
		{"visa", "4111111111111111", true},
		{"amex spaced", "3782 822463 10005", true},
		{"bad luhn", "4111111111111112", false},
		{"too short", "4111", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.Tokenize(tc.pan, "1230")
			if (err == nil) != tc.ok {
				t.Fatalf("Tokenize = %q, %v", id, err)
			}
			if err != nil && strings.Contains(err.Error(), tc.pan) {
				t.Errorf("error echoes the number: %v", err)
			}
			if err == nil && (len(id) != 32 || qualpay.LooksLikePAN(id)) {
				t.Errorf("token %q", id)
			}
		})
	}
}

func TestEmbeddedFieldsStandIn(t *testing.T) {
	f, _, _ := newFake(t)
	srv := httptest.NewServer(f.EmbeddedFieldsStandIn())
	defer srv.Close()
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"test card", `{"card_number":"4111111111111111","exp_date":"1230"}`, 200},
		{"bad number", `{"card_number":"1234","exp_date":"1230"}`, 400},
		{"not json", `card`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.Post(srv.URL, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want || strings.Contains(string(b), "4111111111111111") {
				t.Fatalf("status %d body %s", res.StatusCode, b)
			}
		})
	}
	var logged []string
	sf := qualpayfake.SinkFunc(func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) })
	sf.Errorf("x %d", 1)
	if len(logged) != 1 || logged[0] != "x 1" {
		t.Fatal(logged)
	}
}
