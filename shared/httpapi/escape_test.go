package httpapi_test

import (
	"html"
	"testing"

	"github.com/payrecon/payrecon/shared/httpapi"
)

func TestEscapeHTMLMatchesStdlib(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"plain", "Demo Bakery"},
		{"every escaped character", `a&b'c<d>e"f`},
		{"markup", `"><script>alert(1)</script>&'`},
		{"already escaped", "&amp;&lt;&#39;"},
		{"non-ASCII", "Café «Ünïcode» ✓"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := httpapi.EscapeHTML(tc.in), html.EscapeString(tc.in); got != want {
				t.Fatalf("EscapeHTML(%q) = %q, html.EscapeString gives %q", tc.in, got, want)
			}
		})
	}
}
