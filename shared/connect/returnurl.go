package connect

import (
	"net"
	"net/url"
	"strings"
)

const maxReturnURL = 2048

// IsLoopback reports whether host (no port) is this machine.
func IsLoopback(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkReturnURL validates where a user is sent back after OAuth. It must be
// absolute https (http only for localhost, for development), carry no
// credentials, and — when the partner restricts hosts — be on an allowed host.
// It returns a message for the client, or "" when the URL is acceptable.
func checkReturnURL(raw string, allowedHosts []string) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > maxReturnURL {
		return "is too long (at most 2048 characters)"
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL"
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(host) {
			return "must use https (http is allowed only for localhost)"
		}
	default:
		return "must use https"
	}
	if u.User != nil {
		return "must not contain user information"
	}
	if host == "" || strings.ContainsAny(raw, " \t\r\n\\") {
		return "must be an absolute URL"
	}
	if len(allowedHosts) > 0 && !hostAllowed(host, allowedHosts) {
		return "host is not in this partner's allowed return hosts"
	}
	return ""
}

// hostAllowed matches host against exact entries or "*.example.com" wildcards
// (which match subdomains, not the apex).
func hostAllowed(host string, allowed []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSpace(a))
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == a {
			return true
		}
	}
	return false
}

// WithQuery returns base with params added (base came from a stored state, so it
// was validated when the flow started).
func WithQuery(base string, params url.Values) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for k, vs := range params {
		q.Del(k)
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
