package qualpay

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/payrecon/payrecon/shared/apperr"
)

// rawPANMessage explains the 422 for a request carrying what looks like a
// full card number. The value itself is never echoed.
const rawPANMessage = "raw card numbers are not accepted; send a card_id token from Qualpay Embedded Fields"

// cardTokenRe is the shape of a Qualpay card_id (32 hex characters). Such a
// token may contain a long digit run by chance; it is not a PAN.
//
// Compiled on first use, not during the Lambda cold start.
var cardTokenRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]{32}$`) })

// LooksLikePAN reports whether s contains a run of 13–19 digits that passes the
// Luhn check, whatever separates the digit groups: any short run of Unicode
// spaces or punctuation ("4111 1111 1111 1111", "4111.1111.1111.1111",
// "4111 - 1111", "4111/1111", "4111_1111", tabs, no-break spaces) is
// normalised away before the check. In a longer grouped run ("4111 1111 1111
// 1111 1225": a PAN and an expiry) every sequence of whole groups is checked;
// an ungrouped run over 19 digits is a long numeric ID, not a card number.
func LooksLikePAN(s string) bool {
	if cardTokenRe().MatchString(s) && strings.ContainsAny(strings.ToLower(s), "abcdef") {
		return false
	}
	found := false
	digitRuns(s, func(lo, hi int) bool {
		found = panInRun(s[lo:hi])
		return !found
	})
	return found
}

// maxSeparator is the longest run of separators (in runes) still read as the
// gap between two digit groups: " - " and ". " are 3 and 2.
const maxSeparator = 3

// isSeparator: every Unicode space (tab, no-break space, ideographic space…)
// and punctuation mark (".", "/", "_", dashes of every width…).
func isSeparator(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// separatorThenDigit reports whether s[j:] starts with 1–maxSeparator
// separator runes followed by a digit, and where that digit is.
func separatorThenDigit(s string, j int) (int, bool) {
	for n := 0; n < maxSeparator && j < len(s); n++ {
		r, size := utf8.DecodeRuneInString(s[j:])
		if !isSeparator(r) {
			return 0, false
		}
		j += size
		if j < len(s) && isDigit(s[j]) {
			return j, true
		}
	}
	return 0, false
}

// digitRuns calls fn with the bounds of every maximal run of digits in s
// that may contain short separator runes between digits and holds at least
// 13 digits, until fn returns false. A hand-written scan: linear (each
// separator run is looked at a bounded number of times) and allocation-free,
// as it runs over every vault request body.
func digitRuns(s string, fn func(lo, hi int) bool) {
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		lo, hi, n := i, i+1, 1
		for j := i + 1; j < len(s); {
			if isDigit(s[j]) {
				n++
				j++
				hi = j
				continue
			}
			next, ok := separatorThenDigit(s, j)
			if !ok {
				break
			}
			j = next
		}
		if n >= 13 && !fn(lo, hi) {
			return
		}
		i = hi
	}
}

func panInRun(run string) bool {
	groups := strings.FieldsFunc(run, func(r rune) bool { return r < '0' || r > '9' })
	for i := range groups {
		n := 0
		for j := i; j < len(groups); j++ {
			n += len(groups[j])
			if n > 19 {
				break
			}
			if n >= 13 && luhn(strings.Join(groups[i:j+1], "")) {
				return true
			}
		}
	}
	return false
}

// luhn is the mod-10 check card numbers carry.
func luhn(d string) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// maskPANs replaces card-number-like runs in s (for upstream messages we log).
func maskPANs(s string) string {
	var b strings.Builder
	last := 0
	digitRuns(s, func(lo, hi int) bool {
		if panInRun(s[lo:hi]) {
			b.WriteString(s[last:lo])
			b.WriteString("[card number removed]")
			last = hi
		}
		return true
	})
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// FindPAN walks a JSON document and returns the paths ("billing_cards[0].card_id")
// of every string or number that looks like a raw card number. merchant_id
// values are skipped: they are ours, numeric and up to 16 digits long.
func FindPAN(doc []byte) []string {
	if len(doc) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		// Not JSON: scan the raw text rather than trust it.
		if LooksLikePAN(string(doc)) {
			return []string{"body"}
		}
		return nil
	}
	var found []string
	walkPAN("", v, &found)
	sort.Strings(found)
	return found
}

func walkPAN(path string, v any, found *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "merchant_id" {
				continue
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			if LooksLikePAN(k) {
				*found = append(*found, path+"{key}")
			}
			walkPAN(p, e, found)
		}
	case []any:
		for i, e := range x {
			walkPAN(path+"["+strconv.Itoa(i)+"]", e, found)
		}
	case string:
		if LooksLikePAN(x) {
			*found = append(*found, path)
		}
	case json.Number:
		if LooksLikePAN(x.String()) {
			*found = append(*found, path)
		}
	}
}

// RawPANError is the client-safe error for a request carrying card numbers,
// naming the fields (never the values).
func RawPANError(fields []string) error {
	f := make(map[string]string, len(fields))
	for _, p := range fields {
		if p == "" {
			p = "body"
		}
		f[p] = rawPANMessage
	}
	return &apperr.Error{Code: apperr.Unprocessable, Message: rawPANMessage, Fields: f}
}

// guardPAN refuses a vault call whose path, query or body carries a PAN.
func guardPAN(c call, payload []byte) error {
	var fields []string
	for _, seg := range strings.Split(c.path, "/") {
		if LooksLikePAN(seg) {
			fields = append(fields, "path")
			break
		}
	}
	for k, vs := range c.query {
		if k == "merchant_id" {
			continue
		}
		for _, v := range vs {
			if LooksLikePAN(v) {
				fields = append(fields, k)
				break
			}
		}
	}
	fields = append(fields, FindPAN(payload)...)
	if len(fields) > 0 {
		return RawPANError(fields)
	}
	return nil
}
