package recon

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/money"
)

func TestDate(t *testing.T) {
	t.Run("round trip across eras and leap days", func(t *testing.T) {
		for _, s := range []string{"1970-01-01", "2000-02-29", "2024-03-04", "1969-12-31", "2100-12-31", "1600-03-01"} {
			d, err := ParseDate(s)
			if err != nil || d.String() != s {
				t.Errorf("%s -> %v %v", s, d, err)
			}
			tm, _ := time.Parse(time.DateOnly, s)
			if d.Weekday() != tm.Weekday() || DateFromTime(tm) != d {
				t.Errorf("%s weekday %v want %v", s, d.Weekday(), tm.Weekday())
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, s := range []string{"", "2023-02-29", "2024-13-01", "2024-1-01", "2024-01-32", "20240101", "2024/01/01", "0999-01-01"} {
			if _, err := ParseDate(s); !errors.Is(err, ErrDate) {
				t.Errorf("%q: err = %v", s, err)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		var v struct {
			D Date `json:"d"`
			E Date `json:"e,omitzero"`
		}
		if err := json.Unmarshal([]byte(`{"d":"2024-03-04"}`), &v); err != nil || v.D != mon {
			t.Fatal(v, err)
		}
		b, _ := json.Marshal(v)
		if string(b) != `{"d":"2024-03-04"}` {
			t.Fatal(string(b))
		}
		if err := json.Unmarshal([]byte(`{"d":"2024-02-30"}`), &v); err == nil {
			t.Fatal("want error")
		}
	})
	t.Run("zero", func(t *testing.T) {
		var d Date
		if !d.IsZero() || d.String() != "" || DateOf(1970, 1, 1).IsZero() {
			t.Fatal("zero date handling")
		}
	})
}

func TestCalendar(t *testing.T) {
	var c Calendar
	fri, sat, sun, nextMon := day(4), day(5), day(6), day(7)
	tests := []struct {
		name string
		cal  Calendar
		a, b Date
		want int
	}{
		{"same day", c, mon, mon, 0},
		{"mon to fri", c, mon, fri, 4},
		{"fri to next mon", c, fri, nextMon, 1},
		{"saturday counts as monday", c, fri, sat, 1},
		{"sunday to monday", c, sun, nextMon, 0},
		{"backwards", c, nextMon, fri, -1},
		{"holiday monday skipped", NewCalendar(nextMon, sat), fri, day(8), 1},
		{"across years", c, DateOf(2023, 12, 29), DateOf(2024, 1, 2), 2},
		{"before 1970", c, DateOf(1969, 12, 26), DateOf(1970, 1, 2), 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cal.BusinessDays(tc.a, tc.b); got != tc.want {
				t.Fatalf("BusinessDays(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
	t.Run("add business days", func(t *testing.T) {
		h := NewCalendar(nextMon)
		if got := h.AddBusinessDays(fri, 1); got != day(8) {
			t.Fatalf("got %s", got)
		}
		if got := c.AddBusinessDays(sat, 0); got != nextMon {
			t.Fatalf("got %s", got)
		}
		if got := c.AddBusinessDays(nextMon, -1); got != fri {
			t.Fatalf("got %s", got)
		}
		if !c.IsBusinessDay(mon) || c.IsBusinessDay(sat) || h.IsBusinessDay(nextMon) {
			t.Fatal("IsBusinessDay")
		}
	})
}

func ptr(s string) *string { return &s }

func plaidTxn(id, amount, cur string) PlaidTransaction {
	return PlaidTransaction{TransactionID: id, AccountID: "acc_1", Amount: json.Number(amount), ISOCurrencyCode: ptr(cur),
		Date: "2024-03-04", Name: "STRIPE TRANSFER", MerchantName: ptr("Stripe")}
}

func TestFromPlaid(t *testing.T) {
	tests := []struct {
		name  string
		txn   PlaidTransaction
		want  int64
		field string
		err   error
	}{
		{"deposit is negative in Plaid, positive here", plaidTxn("t1", "-3890.00", "USD"), 389000, "", nil},
		{"money out is positive in Plaid, negative here", plaidTxn("t2", "12.34", "usd"), -1234, "", nil},
		{"decimal that floats get wrong", plaidTxn("t3", "-0.30000000000000004", "USD"), 0, "amount", money.ErrPrecision},
		{"0.1 + 0.2 style value is exact", plaidTxn("t4", "-0.3", "USD"), 30, "", nil},
		{"too many decimals", plaidTxn("t5", "1.234", "USD"), 0, "amount", money.ErrPrecision},
		{"yen has no minor unit", plaidTxn("t6", "-1500", "JPY"), 1500, "", nil},
		{"missing currency", PlaidTransaction{TransactionID: "t7", AccountID: "a", Amount: "1", Date: "2024-03-04"}, 0, "iso_currency_code", nil},
		{"unofficial currency", PlaidTransaction{TransactionID: "t8", AccountID: "a", Amount: "1", Date: "2024-03-04", UnofficialCurrencyCode: ptr("BTC")}, 0, "unofficial_currency_code", nil},
		{"bad date", func() PlaidTransaction { p := plaidTxn("t9", "1", "USD"); p.Date = "2024-02-30"; return p }(), 0, "date", ErrDate},
		{"missing id", plaidTxn("", "1", "USD"), 0, "transaction_id", nil},
		{"not a number", plaidTxn("t10", "1,00", "USD"), 0, "amount", money.ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := FromPlaid(tc.txn)
			if tc.field == "" {
				if err != nil || l.Amount != tc.want {
					t.Fatalf("got %d, %v; want %d", l.Amount, err, tc.want)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want field %s", err, tc.field)
			}
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestNormalizePageAndFeed(t *testing.T) {
	pend := plaidTxn("p1", "-100.00", "USD")
	pend.Pending = true
	posted := plaidTxn("t1", "-100.00", "USD")
	posted.PendingTransactionID = ptr("p1")
	other := plaidTxn("t2", "-50.00", "USD")

	f := NewFeed()
	apply := func(p SyncPage) ([]string, []string) {
		t.Helper()
		ch, err := NormalizePage(p)
		if err != nil {
			t.Fatal(err)
		}
		return f.Apply(ch)
	}
	t.Run("pending line arrives", func(t *testing.T) {
		ch, gone := apply(SyncPage{Added: []PlaidTransaction{pend, other}})
		if len(ch) != 2 || len(gone) != 0 || len(f.Posted()) != 1 {
			t.Fatalf("changed %v gone %v", ch, gone)
		}
	})
	t.Run("posted line replaces its pending line", func(t *testing.T) {
		ch, gone := apply(SyncPage{Added: []PlaidTransaction{posted}})
		if len(ch) != 1 || len(gone) != 1 || gone[0] != "p1" {
			t.Fatalf("changed %v gone %v", ch, gone)
		}
		if _, ok := f.Lines["p1"]; ok {
			t.Fatal("pending line still there")
		}
	})
	t.Run("re-posting a page is a no-op", func(t *testing.T) {
		ch, gone := apply(SyncPage{Added: []PlaidTransaction{posted}})
		if len(ch) != 0 || len(gone) != 0 {
			t.Fatalf("changed %v gone %v", ch, gone)
		}
	})
	t.Run("modified updates, removed removes", func(t *testing.T) {
		mod := other
		mod.Name = "STRIPE TRANSFER ST-1"
		ch, gone := apply(SyncPage{Modified: []PlaidTransaction{mod}, Removed: []PlaidRemoved{{TransactionID: "t1"}}})
		if len(ch) != 1 || len(gone) != 1 || f.Lines["t2"].Name != "STRIPE TRANSFER ST-1" {
			t.Fatalf("changed %v gone %v", ch, gone)
		}
	})
	t.Run("a bad page names every bad field and applies nothing", func(t *testing.T) {
		bad := plaidTxn("t3", "1.001", "USD")
		_, err := NormalizePage(SyncPage{Added: []PlaidTransaction{other, bad}, Removed: []PlaidRemoved{{}, {TransactionID: "t2"}}})
		var pe *PageError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v", err)
		}
		for _, k := range []string{"added[1].amount", "removed[0].transaction_id", "removed[1].transaction_id"} {
			if pe.Fields[k] == "" {
				t.Errorf("missing %s in %v", k, pe.Fields)
			}
		}
	})
	t.Run("json body decodes amounts exactly", func(t *testing.T) {
		var p SyncPage
		body := `{"added":[{"transaction_id":"x","account_id":"a","amount":-3890.10,"iso_currency_code":"USD","date":"2024-03-04","name":"STRIPE"}],"next_cursor":"c1","has_more":false}`
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		ch, err := NormalizePage(p)
		if err != nil || ch.Upserts[0].Amount != 389010 || ch.NextCursor != "c1" {
			t.Fatalf("%+v %v", ch, err)
		}
	})
}
