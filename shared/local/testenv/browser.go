package testenv

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// Browser stands in for a browser on a server's pages (the Embedded UI): a
// cookie jar, redirects not followed.
type Browser struct {
	t    testing.TB
	c    *http.Client
	base string
}

// NewBrowser is a browser with an empty cookie jar on base.
func NewBrowser(t testing.TB, base string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Do sends a request to base+path with the jar's cookies and returns the
// response (its body read) and the body.
func (b *Browser) Do(method, path string, hdr map[string]string, body string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}
