package notify_test

import (
	"context"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/notify"
)

// FuzzEndpointURL: whatever the input, an accepted endpoint URL is https (or
// http to a loopback literal/localhost when allowed), has no user info or
// fragment, fits the cap, and a literal host is public (or loopback when
// allowed); names resolve through a resolver that answers loopback, which the
// production policy must refuse.
func FuzzEndpointURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.partner.example/payrecon", "http://127.0.0.1:8080/x", "https://[::ffff:127.0.0.1]/",
		"https://user@example.com/", "https://10.0.0.1/", "https://0x7f.1/", "HTTPS://EXAMPLE.COM:443/a?b#c",
		"https://[fe80::1%25eth0]/", "https://example.com:/", "//example.com", "https://ex ample.com/",
		"https://169.254.169.254/latest", "https://[64:ff9b::7f00:1]/", "https://example.com./",
		"https://[fec0::1]/", "https://[::ffff:0:127.0.0.1]/", "https://x.localhost/",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowLoopback bool) {
		p := notify.URLPolicy{AllowLoopbackHTTP: allowLoopback, Resolver: fakeDNS{"127.0.0.1"}}
		u, err := p.Check(context.Background(), raw)
		if err != nil {
			return
		}
		if len(raw) > notify.MaxURLLen || u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n#") {
			t.Fatalf("accepted %q", raw)
		}
		again, err := url.Parse(raw)
		if err != nil || again.Hostname() != u.Hostname() {
			t.Fatalf("accepted %q: does not re-parse to the same host", raw)
		}
		host := u.Hostname()
		a, literal := netip.ParseAddr(host)
		loopback := literal == nil && a.Unmap().IsLoopback() || strings.EqualFold(host, "localhost") || literal != nil // names resolve to 127.0.0.1 here
		switch {
		case !allowLoopback && (loopback || u.Scheme != "https"):
			t.Fatalf("production accepted %q", raw)
		case u.Scheme != "https" && u.Scheme != "http":
			t.Fatalf("accepted scheme %q", u.Scheme)
		case literal == nil && !notify.Public(a) && !(allowLoopback && a.Unmap().IsLoopback()):
			t.Fatalf("accepted a non-public literal %q", raw)
		case literal == nil && p.DialControl("tcp", netip.AddrPortFrom(a, 443).String(), nil) != nil:
			t.Fatalf("accepted %q, whose address the dial check refuses", raw)
		}
	})
}
