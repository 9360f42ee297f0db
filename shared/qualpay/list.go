package qualpay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
)

// Filter operators. Qualpay's browse calls take repeated `filter` query
// values of the form field,OP,value (BETWEEN and IN take more values); the
// fake server implements the same grammar.
const (
	OpEQ      = "EQ"
	OpNE      = "NE"
	OpGT      = "GT"
	OpGE      = "GE"
	OpLT      = "LT"
	OpLE      = "LE"
	OpLike    = "LIKE" // case-insensitive "contains"
	OpBetween = "BETWEEN"
	OpIn      = "IN"
)

// Filter is one browse filter.
type Filter struct {
	Field  string
	Op     string
	Values []string
}

// Eq, Like, Between and In build common filters.
func Eq(field, value string) Filter       { return Filter{field, OpEQ, []string{value}} }
func Like(field, value string) Filter     { return Filter{field, OpLike, []string{value}} }
func Between(field, lo, hi string) Filter { return Filter{field, OpBetween, []string{lo, hi}} }
func In(field string, values ...string) Filter {
	return Filter{field, OpIn, values}
}

// DateBetween filters a date field to [from, to] by calendar date (UTC).
func DateBetween(field string, from, to time.Time) Filter {
	return Between(field, from.UTC().Format(time.DateOnly), to.UTC().Format(time.DateOnly))
}

// String encodes the filter for the query string.
func (f Filter) String() string {
	return f.Field + "," + f.Op + "," + strings.Join(f.Values, ",")
}

func (f Filter) check() error {
	ok := f.Field != "" && !strings.ContainsAny(f.Field, ",") && len(f.Values) > 0
	switch f.Op {
	case OpEQ, OpNE, OpGT, OpGE, OpLT, OpLE, OpLike:
		ok = ok && len(f.Values) == 1
	case OpBetween:
		ok = ok && len(f.Values) == 2 && !strings.Contains(f.Values[0], ",")
	case OpIn:
	default:
		ok = false
	}
	if !ok {
		return apperr.New(apperr.Invalid, "invalid Qualpay filter on %q", f.Field)
	}
	return nil
}

// ParseFilter decodes "field,OP,value[,value…]". For single-value operators the
// value is everything after the second comma (names may contain commas).
func ParseFilter(s string) (Filter, error) {
	parts := strings.SplitN(s, ",", 3)
	if len(parts) != 3 {
		return Filter{}, fmt.Errorf("filter %q: want field,OP,value", s)
	}
	f := Filter{Field: parts[0], Op: strings.ToUpper(parts[1])}
	switch f.Op {
	case OpBetween, OpIn:
		f.Values = strings.Split(parts[2], ",")
	default:
		f.Values = []string{parts[2]}
	}
	if err := f.check(); err != nil {
		return Filter{}, fmt.Errorf("filter %q: bad operator or values", s)
	}
	return f, nil
}

// ListParams selects one page of a browse call.
type ListParams struct {
	Page    int    // zero-based
	Count   int    // 1–100; 0 means 100
	OrderOn string // a field of the listed resource
	OrderBy string // "asc" or "desc"
	Filters []Filter
}

const maxPageSize = 100

func (p ListParams) query() (url.Values, error) {
	if p.Page < 0 {
		return nil, apperr.New(apperr.Invalid, "page must not be negative")
	}
	n := p.Count
	if n == 0 {
		n = maxPageSize
	}
	if n < 1 || n > maxPageSize {
		return nil, apperr.New(apperr.Invalid, "count must be between 1 and %d", maxPageSize)
	}
	q := url.Values{}
	q.Set("count", strconv.Itoa(n))
	q.Set("page", strconv.Itoa(p.Page))
	if p.OrderOn != "" {
		q.Set("order_on", p.OrderOn)
	}
	switch p.OrderBy {
	case "":
	case "asc", "desc":
		q.Set("order_by", p.OrderBy)
	default:
		return nil, apperr.New(apperr.Invalid, `order_by must be "asc" or "desc"`)
	}
	for _, f := range p.Filters {
		if err := f.check(); err != nil {
			return nil, err
		}
		q.Add("filter", f.String())
	}
	return q, nil
}

func (p ListParams) size() int {
	if p.Count == 0 {
		return maxPageSize
	}
	return p.Count
}

// decodeList reads a list's data. The published spec declares data on the
// reporting responses as a single object while the API (and Qualpay's older
// published spec) return an array; accept both.
func decodeList[T any](raw json.RawMessage) ([]T, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '{' {
		var one T
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, err
		}
		return []T{one}, nil
	}
	var many []T
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// MaxPages bounds a walk through every page (100 rows each): a runaway
// paging loop fails loudly instead of exhausting memory.
const MaxPages = 2000

// page fetches one page of a browse call.
func page[T any](ctx context.Context, cl *Client, route string, q url.Values) ([]T, *envelope, error) {
	var env envelope
	if err := cl.do(ctx, call{method: http.MethodGet, route: route, path: route, query: q}, &env); err != nil {
		return nil, nil, err
	}
	items, err := decodeList[T](env.Data)
	if err != nil {
		return nil, nil, upstreamDecodeError("GET /platform"+route, 1, err)
	}
	return items, &env, nil
}

// all walks every page from p.Page on. key, when set, drops rows already seen:
// offset paging over a live report can repeat a row when new rows arrive
// between page requests.
func all[T any](ctx context.Context, cl *Client, route string, p ListParams, key func(T) string, extra ...func(url.Values)) ([]T, error) {
	size := p.size()
	var out []T
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n >= MaxPages {
			return nil, fmt.Errorf("qualpay GET /platform%s: more than %d pages", route, MaxPages)
		}
		q, err := p.query()
		if err != nil {
			return nil, err
		}
		for _, f := range extra {
			f(q)
		}
		items, env, err := page[T](ctx, cl, route, q)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if key != nil {
				if k := key(it); k != "" {
					if seen[k] {
						continue
					}
					seen[k] = true
				}
			}
			out = append(out, it)
		}
		if len(items) < size || (env.TotalPages != nil && p.Page+1 >= *env.TotalPages) {
			return out, nil
		}
		p.Page++
	}
}
