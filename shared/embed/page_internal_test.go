package embed

import (
	"strings"
	"testing"
)

// The page's values are outside text (a company's name, a locale): every one is
// escaped, and a placeholder left without a value is an error, not a blank.
func TestPageEscapesEveryValue(t *testing.T) {
	hostile := `"><script>alert(1)</script>&'`
	out, err := page("index.html", map[string]string{"CSRF": hostile, "Company": hostile, "Locale": hostile, "Components": hostile, "Base": PagePath})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "<script>alert") {
		t.Fatalf("unescaped value in the page:\n%s", out)
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;") {
		t.Fatalf("escaped value missing:\n%s", out)
	}
	if _, err := page("index.html", map[string]string{"Base": PagePath}); err == nil {
		t.Fatal("a placeholder without a value was rendered")
	}
}

// A value may contain what looks like a placeholder (a company named
// "{{Acme}}"): it is the company's text, filled once, never a missing value.
func TestPageValuesWithBraces(t *testing.T) {
	for _, tc := range []struct{ name, company string }{
		{"braces", "{{Acme}} Ltd"},
		{"a placeholder's own text", "{{.Base}}"},
		{"an unclosed brace pair", "Acme {{"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := page("index.html", map[string]string{"CSRF": "c", "Company": tc.company, "Locale": "en-US", "Components": "payouts", "Base": PagePath})
			if err != nil {
				t.Fatalf("company %q: %v", tc.company, err)
			}
			if !strings.Contains(out, `<span class="company">`+tc.company+`</span>`) {
				t.Fatalf("company %q not in the page as its text:\n%s", tc.company, out)
			}
		})
	}
}
