package httpapi

import (
	"strings"
	"sync"
)

// Built on first use, not during the Lambda cold start.
var htmlEscaper = sync.OnceValue(func() *strings.Replacer {
	return strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;")
})

// EscapeHTML escapes the five characters html.EscapeString escapes, with the
// same entities (TestEscapeHTMLMatchesStdlib): enough for element text and
// double-quoted attributes. The html package is not imported on purpose: its
// package initialiser keeps its table of 2,231 named entities (used only by
// UnescapeString) in every binary that imports it.
func EscapeHTML(s string) string { return htmlEscaper().Replace(s) }
