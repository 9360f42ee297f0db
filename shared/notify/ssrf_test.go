package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/notify"
	"github.com/payrecon/payrecon/shared/outbox"
)

// fakeDNS answers every name with the given addresses.
type fakeDNS []string

func (f fakeDNS) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range f {
		out = append(out, netip.MustParseAddr(a))
	}
	if len(out) == 0 {
		return nil, errors.New("no such host")
	}
	return out, nil
}

func TestURLPolicy(t *testing.T) {
	public := fakeDNS{"93.184.215.14"}
	prod := notify.URLPolicy{Resolver: public}
	local := notify.URLPolicy{Resolver: public, AllowLoopbackHTTP: true}
	tests := []struct {
		name   string
		policy notify.URLPolicy
		url    string
		ok     bool
	}{
		{"https public name", prod, "https://hooks.partner.example/payrecon", true},
		{"https public name with port", prod, "https://hooks.partner.example:8443/x?y=1", true},
		{"https public IP", prod, "https://93.184.215.14/hook", true},
		{"http refused in production", prod, "http://hooks.partner.example/", false},
		{"http loopback refused in production", prod, "http://127.0.0.1:8080/", false},
		{"http loopback allowed locally", local, "http://127.0.0.1:8080/hook", true},
		{"http localhost allowed locally", notify.URLPolicy{Resolver: fakeDNS{"127.0.0.1"}, AllowLoopbackHTTP: true}, "http://localhost:9/x", true},
		{"http private refused even locally", local, "http://10.0.0.5/", false},
		{"http public refused even locally", local, "http://hooks.partner.example/", false},
		{"user info", prod, "https://user:pass@hooks.partner.example/", false},
		{"fragment", prod, "https://hooks.partner.example/#x", false},
		{"ftp", prod, "ftp://hooks.partner.example/", false},
		{"relative", prod, "/hooks", false},
		{"empty", prod, "", false},
		{"too long", prod, "https://hooks.partner.example/" + strings.Repeat("a", notify.MaxURLLen), false},
		{"space", prod, "https://hooks.partner.example/a b", false},
		{"bad port", prod, "https://hooks.partner.example:99999/", false},
		{"private 10/8", prod, "https://10.1.2.3/", false},
		{"private 172.16/12", prod, "https://172.16.0.1/", false},
		{"private 192.168/16", prod, "https://192.168.1.1/", false},
		{"loopback", prod, "https://127.0.0.1/", false},
		{"loopback other", prod, "https://127.9.9.9/", false},
		{"link-local metadata", prod, "https://169.254.169.254/latest/meta-data", false},
		{"CGNAT", prod, "https://100.64.0.1/", false},
		{"unspecified", prod, "https://0.0.0.0/", false},
		{"multicast", prod, "https://224.0.0.1/", false},
		{"broadcast", prod, "https://255.255.255.255/", false},
		{"IPv6 loopback", prod, "https://[::1]/", false},
		{"IPv6 unique local", prod, "https://[fd00::1]/", false},
		{"IPv6 link-local", prod, "https://[fe80::1]/", false},
		{"IPv4-mapped loopback", prod, "https://[::ffff:127.0.0.1]/", false},
		{"IPv4-mapped private", prod, "https://[::ffff:10.0.0.1]/", false},
		{"NAT64 of metadata", prod, "https://[64:ff9b::a9fe:a9fe]/", false},
		{"IPv6 site-local (deprecated, not global)", prod, "https://[fec0::1]/", false},
		{"IPv4-translated loopback (SIIT)", prod, "https://[::ffff:0:127.0.0.1]/", false},
		{"IPv4-compatible loopback", prod, "https://[::127.0.0.1]/", false},
		{"IPv6 documentation 3fff::/20", prod, "https://[3fff::1]/", false},
		{"IPv6 global unicast", prod, "https://[2606:2800:220:1:248:1893:25c8:1946]/", true},
		{"name resolving to site-local", notify.URLPolicy{Resolver: fakeDNS{"fec0::1"}}, "https://site.example/", false},
		{"trailing-dot localhost", prod, "https://localhost./", false},
		{"a .localhost name (RFC 6761)", prod, "https://hooks.localhost/", false},
		{"trailing-dot IPv4", prod, "https://127.0.0.1./", false},
		{"octal IPv4 is not a host name", prod, "https://017700000001/", false},
		{"IDN host", prod, "https://b\u00fccher.example/", false},
		{"userinfo before another host", prod, "https://hooks.partner.example@169.254.169.254/", false},
		{"decimal IPv4 is not a host name", prod, "https://2130706433/", false},
		{"short IPv4 is not a host name", prod, "https://127.1/", false},
		{"hex IPv4 is not a host name", prod, "https://0x7f.0x1/", false},
		{"name resolving to loopback in production", notify.URLPolicy{Resolver: fakeDNS{"127.0.0.1"}}, "https://internal.partner.example/", false},
		{"name resolving to metadata", notify.URLPolicy{Resolver: fakeDNS{"169.254.169.254"}}, "https://rebind.example/", false},
		{"name with one private address among public", notify.URLPolicy{Resolver: fakeDNS{"93.184.215.14", "10.0.0.1"}}, "https://mixed.example/", false},
		{"name that does not resolve", notify.URLPolicy{Resolver: fakeDNS{}}, "https://nowhere.example/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.policy.Check(context.Background(), tc.url)
			if (err == nil) != tc.ok {
				t.Fatalf("Check(%q) = %v, want ok=%v", tc.url, err, tc.ok)
			}
		})
	}
}

// The sender refuses at connect time too: an endpoint whose name now
// resolves to loopback (DNS rebinding; here: a loopback URL under the
// production policy) gets no request, and a redirect to an internal address
// is not followed.
func TestSenderRefusesInternalAddresses(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	internal, internalSrv := newReceiver(t)

	t.Run("rebinding to loopback refused at connect", func(t *testing.T) {
		// Registered while allowed (the name "was public"), sent under the
		// production policy, which refuses loopback at connect.
		prod := *w.sender
		prod.HTTP = notify.NewHTTPClient(notify.URLPolicy{})
		log := w.attemptOnce(&prod, internalSrv.URL, outbox.MatchReversed, "mt_9", notify.Retry)
		if len(log) != 1 || !strings.Contains(log[0].Error, "non-public") || len(internal.deliveries()) != 0 {
			t.Fatalf("log %+v, internal got %d", log, len(internal.deliveries()))
		}
	})
	t.Run("redirect to internal address not followed", func(t *testing.T) {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, internalSrv.URL+"/metadata", http.StatusTemporaryRedirect)
		}))
		defer redirector.Close()
		log := w.attemptOnce(w.sender, redirector.URL, outbox.ExceptionOpened, "exc_1", notify.Retry)
		if len(log) != 1 || log[0].ResponseCode != http.StatusTemporaryRedirect || log[0].Status != notify.StatusFailed || len(internal.deliveries()) != 0 {
			t.Fatalf("log %+v, internal got %d", log, len(internal.deliveries()))
		}
	})
	t.Run("private address refused at create", func(t *testing.T) {
		u := "https://10.0.0.1/hook"
		_, err := w.svc.Create(ctx, w.pid, notify.EndpointInput{URL: &u, Events: &[]string{outbox.InvoicePaid}})
		if err == nil || !strings.Contains(err.Error(), "unprocessable") {
			t.Fatalf("create: %v", err)
		}
	})
}

// stuckDNS answers only when its context ends: a resolver that hangs.
type stuckDNS struct{ deadline *time.Duration }

func (s stuckDNS) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	if d, ok := ctx.Deadline(); ok {
		*s.deadline = time.Until(d)
	}
	return nil, context.DeadlineExceeded // what a lookup cut by the deadline returns
}

// TestURLLookupIsBounded: the name lookup at create and update runs under its
// own deadline (a few seconds), so a hanging resolver cannot hold the API
// request until the Lambda times out; the URL is refused.
func TestURLLookupIsBounded(t *testing.T) {
	var left time.Duration
	p := notify.URLPolicy{Resolver: stuckDNS{&left}}
	if _, err := p.Check(context.Background(), "https://hooks.example.com/x"); err == nil {
		t.Fatal("a URL whose host did not resolve was accepted")
	}
	if left <= 0 || left > 5*time.Second {
		t.Fatalf("lookup deadline %s away, want a few seconds", left)
	}
}
