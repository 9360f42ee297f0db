package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MaxURLLen caps an endpoint URL (a request cap: 2048 is what browsers and
// most proxies accept in a request line).
const MaxURLLen = 2048

// ErrForbiddenAddress is returned when an endpoint's host resolves to an
// address a delivery must never reach (SSRF): private, loopback, link-local,
// CGNAT, multicast, unspecified, or an IPv4-mapped/translated form of those.
var ErrForbiddenAddress = errors.New("notify: endpoint address is not public")

// Resolver is the part of *net.Resolver used to check a host (tests inject one).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// URLPolicy decides which endpoint URLs are acceptable.
type URLPolicy struct {
	// AllowLoopbackHTTP admits http:// (and https://) URLs whose host is loopback
	// (127.0.0.0/8, ::1, "localhost"). Only the local runner and tests set it;
	// ConfigFromEnv honours WEBHOOK_ALLOW_LOOPBACK only on a local stack.
	AllowLoopbackHTTP bool
	Resolver          Resolver
}

// ParseURL checks an endpoint URL's syntax without any network access:
// https only (http only for a loopback host when allowed), no user info (a
// secret in a URL ends up in logs), no fragment, a host, a numeric port if any.
// Any port is allowed: the address check, not the port, is what keeps a
// delivery off internal services, and partners do run receivers on 8443 etc.
func (p URLPolicy) ParseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("url is required")
	}
	if len(raw) > MaxURLLen {
		return nil, fmt.Errorf("url is longer than %d characters", MaxURLLen)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return nil, errors.New("url contains whitespace or control characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("url is not a valid URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return nil, errors.New("url must be absolute, with a host")
	}
	if u.User != nil {
		return nil, errors.New("url must not contain a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, errors.New("url must not contain a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("url must have a host")
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, errors.New("url has an invalid port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, errors.New("url has an empty port")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowLoopbackHTTP || !loopbackHost(host) {
			return nil, errors.New("url must use https")
		}
	default:
		return nil, errors.New("url must use https")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return nil, errors.New("url must not use an IPv6 zone")
		}
		if !p.allowed(a) {
			return nil, ErrForbiddenAddress
		}
	} else if !validHostname(host) {
		return nil, errors.New("url host is not a valid host name")
	} else if !p.AllowLoopbackHTTP && localhostName(host) {
		// RFC 6761: resolvers answer "localhost" and "*.localhost" with
		// loopback themselves, whatever DNS says; refused before any lookup.
		return nil, ErrForbiddenAddress
	}
	return u, nil
}

// Check parses raw and resolves its host: every address must be allowed (a
// name with one private address among public ones is refused too).
func (p URLPolicy) Check(ctx context.Context, raw string) (*url.URL, error) {
	u, err := p.ParseURL(raw)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return u, nil // checked by ParseURL
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	// A slow resolver must not hold the API request up to the Lambda's timeout.
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	addrs, err := r.LookupNetIP(lctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return nil, errors.New("url host does not resolve")
	}
	for _, a := range addrs {
		if !p.allowed(a) {
			return nil, ErrForbiddenAddress
		}
	}
	return u, nil
}

// lookupTimeout caps the name lookup of an endpoint URL at create and update
// (the sender's dial has its own 3 s connect timeout).
const lookupTimeout = 3 * time.Second

func (p URLPolicy) allowed(a netip.Addr) bool {
	a = canonical(a)
	if p.AllowLoopbackHTTP && a.IsLoopback() {
		return true
	}
	return Public(a)
}

// canonical unmaps ::ffff:a.b.c.d and strips the zone, so the checks below see
// the IPv4 address a mapped form would reach.
func canonical(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// nonPublic lists ranges a delivery must never reach beyond what netip's
// predicates cover (RFC 6890 special-purpose registries).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: embeds an IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds an IPv4 address
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("3fff::/20"),       // documentation (RFC 9637)
}

// globalUnicast6 is the only IPv6 block IANA allocates for global unicast
// (RFC 4291 section 2.4). netip's IsGlobalUnicast is true for anything not
// loopback, link-local or multicast, which would let through deprecated
// site-local fec0::/10 (still routed inside some networks) and forms such as
// ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765) that embed an IPv4 address.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// Public reports whether a is a global unicast address outside every private
// and special-purpose range.
func Public(a netip.Addr) bool {
	a = canonical(a)
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() ||
		a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return false
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// DialControl is a net.Dialer.Control that refuses any connection to an
// address the policy does not allow. It runs on the address actually being
// dialled, after DNS resolution, so a name that resolved to a public address
// at creation and to an internal one now (DNS rebinding) is refused.
func (p URLPolicy) DialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, "unparseable address")
	}
	if !p.allowed(ap.Addr()) {
		return ErrForbiddenAddress
	}
	return nil
}

func localhostName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && canonical(a).IsLoopback()
}

// validHostname accepts LDH labels (RFC 1123), at most 253 characters, and
// refuses names whose last label is a number ("2130706433", "127.1",
// "0x7f.1"): some resolvers read those as IPv4 addresses (the WHATWG URL
// standard's "ends in a number" rule).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	last := h[strings.LastIndex(h, ".")+1:]
	if strings.HasPrefix(strings.ToLower(last), "0x") || strings.Trim(last, "0123456789") == "" {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
