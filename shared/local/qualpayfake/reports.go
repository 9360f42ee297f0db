package qualpayfake

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrecon/payrecon/shared/qualpay"
)

// row is one listable record: its JSON as served and a decoded view for
// filtering and sorting (numbers kept as json.Number, never float64).
type row struct {
	raw json.RawMessage
	m   map[string]any
	seq int64
}

func mustRow(v any, seq int64) row {
	raw, err := json.Marshal(v)
	if err != nil {
		// Only the fake's own types reach here; they always encode.
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	m := map[string]any{}
	_ = dec.Decode(&m)
	return row{raw: raw, m: m, seq: seq}
}

func (f *Fake) seed(route string, items []any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range items {
		f.seq++
		f.reports[route] = append(f.reports[route], mustRow(it, f.seq))
	}
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// SeedDeposits adds rows to /reporting/deposits (set MerchantID on each).
func (f *Fake) SeedDeposits(ds ...qualpay.Deposit) { f.seed("/reporting/deposits", toAny(ds)) }

// SeedBatches adds rows to /reporting/batches.
func (f *Fake) SeedBatches(bs ...qualpay.Batch) { f.seed("/reporting/batches", toAny(bs)) }

// SeedTransactions adds rows to /reporting/transactions.
func (f *Fake) SeedTransactions(ts ...qualpay.SettledTransaction) {
	f.seed("/reporting/transactions", toAny(ts))
}

// SeedSettlements adds rows to /reporting/statement-report/settlement.
func (f *Fake) SeedSettlements(ss ...qualpay.SettlementRecord) {
	f.seed("/reporting/statement-report/settlement", toAny(ss))
}

// SeedFees adds rows to /reporting/statement-report/fees.
func (f *Fake) SeedFees(fs ...qualpay.StatementFee) {
	f.seed("/reporting/statement-report/fees", toAny(fs))
}

func reportHandler(route string) handler {
	return func(f *Fake, _ map[string]string, q url.Values, _ []byte) (int, any) {
		return f.browse(route, f.reports[route], q, "", "asc")
	}
}

// browse filters, sorts and pages rows the way Qualpay's browse calls do:
// zero-based page, count rows per page (default 10, at most 100 — the
// request validator enforces the bound), repeated filter values
// "field,OP,value", order_on/order_by.
func (f *Fake) browse(route string, rows []row, q url.Values, defOrderOn, defOrderBy string) (int, any) {
	fields := f.spec.itemFields(route, "GET")
	var filters []qualpay.Filter
	for _, s := range q["filter"] {
		flt, err := qualpay.ParseFilter(s)
		if err != nil {
			return bad("Invalid filter %q", s)
		}
		if !fields[flt.Field] {
			return bad("Invalid filter field %s", flt.Field)
		}
		filters = append(filters, flt)
	}
	orderOn := q.Get("order_on")
	if orderOn == "" {
		orderOn = defOrderOn
	}
	if orderOn != "" && !fields[orderOn] {
		return bad("Invalid order_on field %s", orderOn)
	}
	orderBy := strings.ToLower(q.Get("order_by"))
	if orderBy == "" {
		orderBy = defOrderBy
	}
	if orderBy != "asc" && orderBy != "desc" {
		return bad("Invalid order_by %s", orderBy)
	}
	count, page := 10, 0
	if v := q.Get("count"); v != "" {
		count, _ = strconv.Atoi(v)
	}
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if count < 1 || page < 0 {
		return bad("Invalid paging parameters")
	}

	var hits []row
	for _, r := range rows {
		if matchAll(r, filters) {
			hits = append(hits, r)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		c := 0
		if orderOn != "" {
			c = compare(hits[i].m[orderOn], hits[j].m[orderOn])
		}
		if c == 0 {
			c = cmpInt(hits[i].seq, hits[j].seq)
		}
		if orderBy == "desc" {
			return c > 0
		}
		return c < 0
	})
	total := len(hits)
	pages := (total + count - 1) / count
	lo := min(page*count, total)
	hi := min(lo+count, total)
	data := make([]json.RawMessage, 0, hi-lo)
	for _, r := range hits[lo:hi] {
		data = append(data, r.raw)
	}
	return 200, apiResponse{Code: 0, Message: "Success", Data: data, TotalPages: &pages, TotalRecords: &total}
}

func matchAll(r row, fs []qualpay.Filter) bool {
	for _, f := range fs {
		if !match(r.m[f.Field], f) {
			return false
		}
	}
	return true
}

func match(v any, f qualpay.Filter) bool {
	if v == nil {
		return f.Op == qualpay.OpNE
	}
	c := func(i int) int { return compare(v, f.Values[i]) }
	switch f.Op {
	case qualpay.OpEQ:
		return c(0) == 0
	case qualpay.OpNE:
		return c(0) != 0
	case qualpay.OpGT:
		return c(0) > 0
	case qualpay.OpGE:
		return c(0) >= 0
	case qualpay.OpLT:
		return c(0) < 0
	case qualpay.OpLE:
		return c(0) <= 0
	case qualpay.OpBetween:
		return c(0) >= 0 && c(1) <= 0
	case qualpay.OpLike:
		return strings.Contains(strings.ToLower(text(v)), strings.ToLower(f.Values[0]))
	case qualpay.OpIn:
		for i := range f.Values {
			if c(i) == 0 {
				return true
			}
		}
	}
	return false
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// compare orders two values: as exact decimals when both are numbers, by
// calendar date when one side is a bare date (Qualpay dates come as
// "2016-07-01 00:00:00+00:00" and filters as "2016-07-01"), else as text.
func compare(a, b any) int {
	as, bs := text(a), text(b)
	if da, err := decimal.NewFromString(as); err == nil {
		if db, err := decimal.NewFromString(bs); err == nil {
			return da.Cmp(db)
		}
	}
	if isDate(as) || isDate(bs) {
		if len(as) >= 10 && len(bs) >= 10 && isDate(as[:10]) && isDate(bs[:10]) {
			return strings.Compare(as[:10], bs[:10])
		}
	}
	return strings.Compare(as, bs)
}

func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, r := range s {
		if i != 4 && i != 7 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
