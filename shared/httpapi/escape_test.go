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

// FuzzEscapeHTML: for any input (invalid UTF-8 included) the helper gives
// exactly html.EscapeString's output, so replacing the html package changed
// no page's escaping.
func FuzzEscapeHTML(f *testing.F) {
	for _, s := range []string{"", `a&b'c<d>e"f`, "\xff<\xfe", "&amp;&#39;", "Café ✓"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := httpapi.EscapeHTML(s), html.EscapeString(s); got != want {
			t.Fatalf("EscapeHTML(%q) = %q, html.EscapeString gives %q", s, got, want)
		}
	})
}
