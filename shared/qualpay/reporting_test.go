package qualpay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/qualpay"
)

func amt(t *testing.T, s string) qualpay.Amount {
	t.Helper()
	a, err := qualpay.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func num(t *testing.T, s string) qualpay.Number {
	t.Helper()
	n, err := qualpay.ParseNumber(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDepositsPagingAndFilters(t *testing.T) {
	fk, cl, _ := setup(t)
	ctx := context.Background()
	day := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var want int64
	for i := range 250 {
		d := day.AddDate(0, 0, i%20)
		cents := int64(i*137+1) * 10 // spans sub-dollar and large amounts
		fk.SeedDeposits(qualpay.Deposit{RecID: int64(i + 1), MerchantID: mid, AmtACH: qualpay.AmountFromMinor(cents, "USD"),
			ACHDescription: "QUALPAY DEP", PostDateActual: d.Format("2006-01-02") + " 00:00:00+00:00"})
		if i%20 < 10 {
			want += cents
		}
	}
	fk.SeedDeposits(qualpay.Deposit{RecID: 9999, MerchantID: otherMID, AmtACH: amt(t, "1.00"), PostDateActual: "2024-03-02 00:00:00+00:00"})

	tests := []struct {
		name      string
		q         qualpay.ReportQuery
		wantRows  int
		wantCalls int
		wantSum   int64
	}{
		{"all pages of one merchant", qualpay.ReportQuery{MerchantID: mid}, 250, 3, -1},
		{"date window", qualpay.ReportQuery{MerchantID: mid, Filters: []qualpay.Filter{
			qualpay.DateBetween("post_date_actual", day, day.AddDate(0, 0, 9))}}, 130, 2, want},
		{"small pages", qualpay.ReportQuery{MerchantID: mid, PageSize: 7, Filters: []qualpay.Filter{
			qualpay.Eq("post_date_actual", "2024-03-01")}}, 13, 2, -1},
		{"other merchant", qualpay.ReportQuery{MerchantID: otherMID}, 1, 1, 100},
		{"exact page multiple stops on the empty page", qualpay.ReportQuery{MerchantID: mid, PageSize: 5, Filters: []qualpay.Filter{
			qualpay.In("rec_id", "1", "2", "3", "4", "5")}}, 5, 1, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fk.ResetRequests()
			ds, err := cl.DepositsAll(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != tc.wantRows {
				t.Errorf("rows = %d, want %d", len(ds), tc.wantRows)
			}
			if n := fk.Calls("browseDeposits"); n != tc.wantCalls {
				t.Errorf("calls = %d, want %d", n, tc.wantCalls)
			}
			var sum int64
			for _, d := range ds {
				v, err := d.NetMinor()
				if err != nil {
					t.Fatal(err)
				}
				sum += v
				if d.MerchantID != tc.q.MerchantID {
					t.Fatalf("row of merchant %d", d.MerchantID)
				}
			}
			if tc.wantSum >= 0 && sum != tc.wantSum {
				t.Errorf("sum = %d, want %d", sum, tc.wantSum)
			}
		})
	}
}

func TestItemisationReports(t *testing.T) {
	fk, cl, _ := setup(t)
	ctx := context.Background()
	fk.SeedBatches(
		qualpay.Batch{BatchID: 11, MerchantID: mid, TranCurrency: "840", BatchDate: "2024-03-01", AmtTotal: amt(t, "3900.00"), CntTotal: "4",
			AmtPurch: amt(t, "4000.00"), CntPurch: "4", AmtReturn: amt(t, "100.00"), CntReturn: "1"},
		qualpay.Batch{BatchID: 12, MerchantID: mid, TranCurrency: "840", BatchDate: "2024-03-02", AmtTotal: amt(t, "0.10")},
	)
	for i := range 4 {
		fk.SeedTransactions(qualpay.SettledTransaction{RecID: int64(100 + i), MerchantID: mid, BatchID: 11, CardNumber: "411111xxxxxx1111",
			CardType: "VS", AmtTran: amt(t, "1000.00"), AmtFunded: amt(t, "975.00"), TranCurrency: "840", FundedCurrency: "840",
			PgID: fmt.Sprintf("%032d", i)})
	}
	fk.SeedTransactions(qualpay.SettledTransaction{RecID: 200, MerchantID: mid, BatchID: 12, AmtTran: amt(t, "0.10"), AmtFunded: amt(t, "0.10"), FundedCurrency: "840"})
	fk.SeedSettlements(qualpay.SettlementRecord{MerchantID: mid, BatchDate: "2024-03-01T00:00:00Z", CntPurch: num(t, "4"),
		AmtPurch: num(t, "4000.00"), AmtReturn: num(t, "0"), DiscountPaid: num(t, "100.1"), AmtNet: num(t, "3899.9")})
	fk.SeedFees(qualpay.StatementFee{MerchantID: mid, BillingMonth: "2024-03-01", FeeCategory: "Interchange", Count: 4,
		AmtFees: num(t, "10.1"), DiscountDue: num(t, "0.35"), FeesTotal: num(t, "10.45")})

	t.Run("batches", func(t *testing.T) {
		bs, err := cl.BatchesAll(ctx, qualpay.ReportQuery{MerchantID: mid, Filters: []qualpay.Filter{qualpay.Eq("batch_date", "2024-03-01")}})
		if err != nil || len(bs) != 1 || bs[0].BatchID != 11 {
			t.Fatalf("batches = %+v, %v", bs, err)
		}
		if v, _ := bs[0].AmtTotal.Minor("USD"); v != 390000 {
			t.Errorf("amt_total = %d", v)
		}
	})
	t.Run("transactions of a batch", func(t *testing.T) {
		ts, err := cl.SettledTransactionsAll(ctx, qualpay.ReportQuery{MerchantID: mid, Filters: []qualpay.Filter{qualpay.In("batch_id", "11")}})
		if err != nil || len(ts) != 4 {
			t.Fatalf("transactions = %d, %v", len(ts), err)
		}
		var sum int64
		for _, tr := range ts {
			v, cur, err := tr.FundedMinor()
			if err != nil || cur != "USD" {
				t.Fatal(cur, err)
			}
			sum += v
		}
		if sum != 390000 {
			t.Errorf("funded = %d", sum)
		}
	})
	t.Run("settlement statement numbers are exact", func(t *testing.T) {
		ss, err := cl.SettlementStatementAll(ctx, qualpay.ReportQuery{MerchantID: mid})
		if err != nil || len(ss) != 1 {
			t.Fatalf("settlement = %+v, %v", ss, err)
		}
		net, _ := ss[0].AmtNet.Minor("USD")
		disc, _ := ss[0].DiscountPaid.Minor("USD")
		gross, _ := ss[0].AmtPurch.Minor("USD")
		if net != 389990 || disc != 10010 || gross-disc != net {
			t.Errorf("net %d disc %d gross %d", net, disc, gross)
		}
	})
	t.Run("statement fees", func(t *testing.T) {
		fs, err := cl.StatementFeesAll(ctx, qualpay.ReportQuery{MerchantID: mid})
		if err != nil || len(fs) != 1 {
			t.Fatalf("fees = %+v, %v", fs, err)
		}
		if v, _ := fs[0].FeesTotal.Minor("USD"); v != 1045 {
			t.Errorf("fees_total = %d", v)
		}
	})
	t.Run("unknown filter field is refused by Qualpay", func(t *testing.T) {
		_, err := cl.BatchesAll(ctx, qualpay.ReportQuery{MerchantID: mid, Filters: []qualpay.Filter{qualpay.Eq("no_such_field", "1")}})
		wantCode(t, err, apperr.Unprocessable)
	})
	t.Run("merchant required", func(t *testing.T) {
		_, err := cl.DepositsAll(ctx, qualpay.ReportQuery{})
		wantCode(t, err, apperr.Unprocessable)
	})
	t.Run("a failing page fails the whole walk", func(t *testing.T) {
		fk.InjectFault(qualpayfake.Fault{PathPrefix: "/platform/reporting/transactions", Status: 400, After: 2, Times: 1, Message: "Invalid page"})
		ts, err := cl.SettledTransactionsAll(ctx, qualpay.ReportQuery{MerchantID: mid, PageSize: 1})
		if err == nil || ts != nil {
			t.Fatalf("got %d rows, err %v; want no partial result", len(ts), err)
		}
	})
}

func TestAmountDecoding(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		cur     string
		want    int64
		wantErr bool
	}{
		{"string", `"100.00"`, "USD", 10000, false},
		{"number", `10.1`, "USD", 1010, false},
		{"negative", `"-12.34"`, "USD", -1234, false},
		{"no decimals", `"3890"`, "USD", 389000, false},
		{"exponent", `1e2`, "USD", 10000, false},
		{"beyond float precision", `"92233720368547.75"`, "USD", 9223372036854775, false},
		{"float trap", `0.29`, "USD", 29, false},
		{"sub-cent", `"0.005"`, "USD", 0, true},
		{"yen", `"1500"`, "JPY", 1500, false},
		{"garbage", `"12abc"`, "USD", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a qualpay.Amount
			err := json.Unmarshal([]byte(tc.json), &a)
			var v int64
			if err == nil {
				v, err = a.Minor(tc.cur)
			}
			if (err != nil) != tc.wantErr || v != tc.want {
				t.Fatalf("got %d, %v; want %d (err %v)", v, err, tc.want, tc.wantErr)
			}
		})
	}
	t.Run("null is absent", func(t *testing.T) {
		var n qualpay.Number
		if err := json.Unmarshal([]byte(`null`), &n); err != nil || !n.IsZero() {
			t.Fatal(err)
		}
		if _, err := n.Minor("USD"); err == nil {
			t.Fatal("missing amount converted")
		}
	})
	t.Run("number re-encodes exactly", func(t *testing.T) {
		b, _ := json.Marshal(struct {
			N qualpay.Number `json:"n"`
			A qualpay.Amount `json:"a"`
		}{num(t, "0.30"), amt(t, "0.30")})
		if string(b) != `{"n":0.30,"a":"0.30"}` {
			t.Fatalf("encoded %s", b)
		}
	})
}

func TestParseDateAndCurrency(t *testing.T) {
	for in, want := range map[string]string{
		"2016-07-01":                "2016-07-01",
		"2016-07-01 00:00:00+00:00": "2016-07-01",
		"2016-07-01 23:30:00-07:00": "2016-07-01",
		"2016-07-01T23:30:00Z":      "2016-07-01",
	} {
		got, err := qualpay.ParseDate(in)
		if err != nil || got.Format(time.DateOnly) != want || got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := qualpay.ParseDate("07/01/2016"); err == nil {
		t.Error("bad date parsed")
	}
	for in, want := range map[string]string{"840": "USD", "124": "CAD", "36": "AUD"} {
		if got, err := qualpay.CurrencyFromNumeric(in); err != nil || got != want {
			t.Errorf("CurrencyFromNumeric(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := qualpay.CurrencyFromNumeric("999"); err == nil {
		t.Error("unknown currency accepted")
	}
}
