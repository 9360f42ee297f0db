package connect

import (
	"encoding/json"
	"net/url"
	"testing"
)

// Pure unit tests (no emulators); the integration tests are in package connect_test.

func TestCheckReturnURL(t *testing.T) {
	tests := []struct {
		name, url string
		allowed   []string
		ok        bool
	}{
		{"https", "https://partner.example/done?x=1", nil, true},
		{"http localhost", "http://localhost:3000/cb", nil, true},
		{"http 127.0.0.1", "http://127.0.0.1/cb", nil, true},
		{"http ::1", "http://[::1]:8080/cb", nil, true},
		{"http sub.localhost", "http://app.localhost/cb", nil, true},
		{"http public", "http://partner.example/done", nil, false},
		{"http localhost lookalike", "http://localhost.evil.example/cb", nil, false},
		{"relative", "/done", nil, false},
		{"scheme relative", "//evil.example/done", nil, false},
		{"javascript", "javascript:alert(1)", nil, false},
		{"userinfo", "https://partner.example@evil.example/", nil, false},
		{"empty", "", nil, false},
		{"backslash", `https://partner.example\@evil.example/`, nil, false},
		{"allowed exact", "https://app.partner.example/x", []string{"app.partner.example"}, true},
		{"allowed case", "https://App.Partner.Example/x", []string{"app.partner.example"}, true},
		{"allowed wildcard", "https://t1.partner.example/x", []string{"*.partner.example"}, true},
		{"wildcard not apex", "https://partner.example/x", []string{"*.partner.example"}, false},
		{"not allowed", "https://evil.example/x", []string{"app.partner.example"}, false},
		{"suffix trick", "https://app.partner.example.evil.example/x", []string{"app.partner.example"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkReturnURL(tc.url, tc.allowed) == ""; got != tc.ok {
				t.Fatalf("checkReturnURL(%q) ok=%v, want %v (%s)", tc.url, got, tc.ok, checkReturnURL(tc.url, tc.allowed))
			}
		})
	}
}

func FuzzCheckReturnURL(f *testing.F) {
	for _, s := range []string{"https://a.example/x", "http://localhost/x", "https://u@a.example", "javascript:x", "http://[::1]/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkReturnURL(s, nil) != "" {
			return
		}
		u, err := url.Parse(s)
		if err != nil || u.User != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && IsLoopback(u.Hostname())) {
			t.Fatalf("accepted unsafe return URL %q", s)
		}
	})
}

func TestParseMerchantID(t *testing.T) {
	tests := []struct {
		raw  string
		want int64
		ok   bool
	}{
		{`212000000001`, 212000000001, true}, {`"212000000001"`, 212000000001, true}, {`1`, 1, true},
		{`0`, 0, false}, {`-1`, 0, false}, {`1.5`, 0, false}, {`1e3`, 0, false}, {`"abc"`, 0, false},
		{`null`, 0, false}, {``, 0, false}, {`1234567890123456789`, 0, false}, {`{"a":1}`, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, ok := ParseMerchantID(json.RawMessage(tc.raw))
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %d %v", got, ok)
			}
		})
	}
}

func TestRedirectURI(t *testing.T) {
	tests := []struct{ base, host, want string }{
		{"https://api.example/", "ignored", "https://api.example/integrations/stripe"},
		{"", "abc.execute-api.us-east-1.amazonaws.com", "https://abc.execute-api.us-east-1.amazonaws.com/integrations/stripe"},
		{"", "127.0.0.1:3000", "http://127.0.0.1:3000/integrations/stripe"},
		{"", "evil.example/path?x", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.base+tc.host, func(t *testing.T) {
			got, err := (&Service{PublicBaseURL: tc.base}).RedirectURI(tc.host)
			if got != tc.want || (err != nil) != (tc.want == "") {
				t.Fatalf("got %q %v", got, err)
			}
		})
	}
}

func TestWithQueryKeepsPartnerParams(t *testing.T) {
	got := WithQuery("https://p.example/done?session=1&status=spoof#frag", url.Values{"status": {"connected"}})
	u, _ := url.Parse(got)
	if u.Query().Get("session") != "1" || u.Query()["status"][0] != "connected" || len(u.Query()["status"]) != 1 || u.Fragment != "frag" {
		t.Fatalf("got %s", got)
	}
}

func TestStateFormat(t *testing.T) {
	s := &Service{}
	seen := map[string]bool{}
	for range 100 {
		st, err := s.newState()
		if err != nil || !wellFormedState(st) || seen[st] {
			t.Fatalf("state %q %v", st, err)
		}
		seen[st] = true
	}
	if wellFormedState("short") || wellFormedState(string(make([]byte, 43))) {
		t.Fatal("malformed state accepted")
	}
}
