package qualpayrecon

import (
	"reflect"
	"testing"

	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/qualpay"
)

func amt(s string) qualpay.Amount {
	a, err := qualpay.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

func num(s string) qualpay.Number {
	n, err := qualpay.ParseNumber(s)
	if err != nil {
		panic(err)
	}
	return n
}

func txn(id int64, batchID int64, date, amount, cur, ref string) qualpay.SettledTransaction {
	return qualpay.SettledTransaction{RecID: id, MerchantID: 212000000001, BatchID: batchID, BatchDate: date, TranDate: date,
		AmtTran: amt(amount), AmtFunded: amt(amount), TranCurrency: cur, FundedCurrency: cur, ReferenceNumber: ref,
		PgID: "pg" + string(rune('a'+id))}
}

func set(date string, ref int64, purch, ret, disc, net string) qualpay.SettlementRecord {
	return qualpay.SettlementRecord{MerchantID: 212000000001, BatchDate: date + "T00:00:00Z", ReferenceNumber: ref,
		AmtPurch: num(purch), AmtReturn: num(ret), DiscountPaid: num(disc), AmtNet: num(net)}
}

func dep(id int64, post, amount, ref string) qualpay.Deposit {
	return qualpay.Deposit{RecID: id, MerchantID: 212000000001, PostDateActual: post, AmtACH: amt(amount), ReferenceNumber: ref}
}

func nets(items []payouts.Item) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = it.Net
	}
	return out
}

func TestItemise(t *testing.T) {
	cases := []struct {
		name       string
		r          Reports
		wantIssue  string
		wantMethod string
		wantCur    string
		wantAmount int64
		wantNets   []int64
	}{
		{
			// The worked example: two batches on one day, one deposit two days later,
			// references in three shapes (leading zeros, integer, string).
			name: "two batches on one day by reference",
			r: Reports{
				Deposits: []qualpay.Deposit{dep(1, "2026-11-04", "1970.50", "00000012345678")},
				Transactions: []qualpay.SettledTransaction{
					txn(1, 10, "2026-11-02", "500.00", "840", "12345678"), txn(2, 10, "2026-11-02", "300.00", "840", "12345678"),
					txn(3, 11, "2026-11-02", "200.00", "840", "012345678"), txn(4, 11, "2026-11-02", "1000.00", "840", "12345678"),
				},
				Settlements: []qualpay.SettlementRecord{
					set("2026-11-02", 12345678, "800.00", "0", "11.80", "788.20"), set("2026-11-02", 12345678, "1200.00", "0", "17.70", "1182.30"),
				},
			},
			wantMethod: MethodReference, wantCur: "USD", wantAmount: 197050,
			wantNets: []int64{50000, 30000, 20000, 100000, -1180, -1770},
		},
		{
			name: "negative net day: refunds larger than sales",
			r: Reports{
				Deposits: []qualpay.Deposit{dep(1, "2026-11-04", "-150.00", "777")},
				Transactions: []qualpay.SettledTransaction{
					txn(1, 10, "2026-11-02", "100.00", "840", "777"), txn(2, 10, "2026-11-02", "-247.00", "840", "777"),
				},
				Settlements: []qualpay.SettlementRecord{set("2026-11-02", 777, "100.00", "247.00", "3.00", "-150.00")},
			},
			wantMethod: MethodReference, wantCur: "USD", wantAmount: -15000, wantNets: []int64{10000, -24700, -300},
		},
		{
			name: "non-USD merchant: yen has no minor unit",
			r: Reports{
				Deposits:     []qualpay.Deposit{dep(1, "2026-11-04", "9700", "5")},
				Transactions: []qualpay.SettledTransaction{txn(1, 10, "2026-11-02", "10000", "392", "5")},
				Settlements:  []qualpay.SettlementRecord{set("2026-11-02", 5, "10000", "0", "300", "9700")},
			},
			wantMethod: MethodReference, wantCur: "JPY", wantAmount: 9700, wantNets: []int64{10000, -300},
		},
		{
			name: "items in two currencies are an exception",
			r: Reports{
				Deposits:     []qualpay.Deposit{dep(1, "2026-11-04", "200.00", "5")},
				Transactions: []qualpay.SettledTransaction{txn(1, 10, "2026-11-02", "100.00", "840", "5"), txn(2, 10, "2026-11-02", "100.00", "124", "5")},
			},
			wantMethod: MethodReference, wantIssue: IssueCurrency, wantCur: "CAD", wantAmount: 20000,
		},
		{
			name: "a difference is shown, never hidden",
			r: Reports{
				Deposits:     []qualpay.Deposit{dep(1, "2026-11-04", "100.00", "5")},
				Transactions: []qualpay.SettledTransaction{txn(1, 10, "2026-11-02", "99.00", "840", "5")},
			},
			wantMethod: MethodReference, wantIssue: IssueDifference, wantCur: "USD", wantAmount: 10000, wantNets: []int64{9900},
		},
		{
			name: "no reference: the one exact set of weekend batches",
			r: Reports{
				Deposits: []qualpay.Deposit{dep(1, "2026-11-09", "350.00", "")}, // Monday
				Transactions: []qualpay.SettledTransaction{
					txn(1, 20, "2026-11-06", "100.00", "840", ""), txn(2, 21, "2026-11-07", "150.00", "840", ""),
					txn(3, 22, "2026-11-08", "100.00", "840", ""), txn(4, 23, "2026-11-09", "75.00", "840", ""),
					txn(5, 19, "2026-10-20", "350.00", "840", ""), // too early
				},
			},
			wantMethod: MethodBatches, wantCur: "USD", wantAmount: 35000, wantNets: []int64{10000, 15000, 10000},
		},
		{
			name: "no reference: two sets fit, so ambiguous",
			r: Reports{
				Deposits: []qualpay.Deposit{dep(1, "2026-11-09", "200.00", "")},
				Transactions: []qualpay.SettledTransaction{
					txn(1, 20, "2026-11-05", "100.00", "840", ""), txn(2, 21, "2026-11-06", "100.00", "840", ""),
					txn(3, 22, "2026-11-06", "200.00", "840", ""),
				},
			},
			wantMethod: MethodBatches, wantCur: "USD", wantAmount: 20000, wantIssue: IssueAmbiguous,
		},
		{
			name: "rows carrying another deposit's reference are never a fallback candidate",
			r: Reports{
				Deposits: []qualpay.Deposit{dep(1, "2026-11-09", "100.00", "")},
				Transactions: []qualpay.SettledTransaction{
					txn(1, 20, "2026-11-05", "100.00", "840", "31337"), // funded by a deposit before this window
				},
			},
			wantMethod: MethodBatches, wantCur: "USD", wantAmount: 10000, wantIssue: IssueNoItems,
		},
		{
			name: "monthly fee debit by the statement fees",
			r: Reports{
				Deposits: []qualpay.Deposit{dep(1, "2026-12-02", "-45.00", "")},
				Currency: "USD",
				Fees: []qualpay.StatementFee{
					{BillingMonth: "2026-11-01", FeeCategory: "Monthly", FeesTotal: num("30.00"), FeesPaid: num("0"), DiscountDue: num("0")},
					{BillingMonth: "2026-11-01", FeeCategory: "PCI", FeesTotal: num("25.00"), FeesPaid: num("10.00"), DiscountDue: num("0")},
					{BillingMonth: "2026-10-01", FeeCategory: "Monthly", FeesTotal: num("30.00"), FeesPaid: num("0"), DiscountDue: num("0")},
				},
			},
			wantMethod: MethodMonthlyFees, wantCur: "USD", wantAmount: -4500, wantNets: []int64{-3000, -1500},
		},
		{
			name:       "fee-only deposit with unknown currency is not assumed USD",
			r:          Reports{Deposits: []qualpay.Deposit{dep(1, "2026-12-02", "-45.00", "")}},
			wantMethod: MethodBatches, wantIssue: IssueNoCurrency,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Itemise(tc.r, DefaultConfig())
			if len(got) != 1 {
				t.Fatalf("got %d results", len(got))
			}
			r := got[0]
			if r.Issue != tc.wantIssue || r.Method != tc.wantMethod || r.Currency != tc.wantCur || r.Amount != tc.wantAmount {
				t.Fatalf("got issue=%q method=%q cur=%q amount=%d note=%q", r.Issue, r.Method, r.Currency, r.Amount, r.Note)
			}
			if tc.wantNets != nil && !reflect.DeepEqual(nets(r.Items), tc.wantNets) {
				t.Fatalf("nets %v, want %v", nets(r.Items), tc.wantNets)
			}
			if r.Issue != "" && r.Note == "" {
				t.Fatal("an issue needs a note a person can act on")
			}
		})
	}
}

func TestFallbackClaimsBatchesOnce(t *testing.T) {
	// Two deposits of the same amount and two batches that fit either: the
	// earlier deposit takes the only set available to it first.
	r := Reports{
		Deposits: []qualpay.Deposit{dep(1, "2026-11-04", "100.00", ""), dep(2, "2026-11-05", "100.00", "")},
		Transactions: []qualpay.SettledTransaction{
			txn(1, 20, "2026-11-03", "100.00", "840", ""), txn(2, 21, "2026-11-04", "100.00", "840", ""),
		},
	}
	got := Itemise(r, DefaultConfig())
	if got[0].Issue != "" || got[1].Issue != "" || got[0].Items[0].SourceID == got[1].Items[0].SourceID {
		t.Fatalf("got %+v", got)
	}
}

func TestNormaliseRef(t *testing.T) {
	for in, want := range map[string]string{"00012345678": "12345678", " 12345678 ": "12345678", "000": "", "": "", "ab12": "AB12"} {
		if got := NormaliseRef(in); got != want {
			t.Errorf("NormaliseRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSubsets(t *testing.T) {
	sols, ex := Subsets([]int64{5, 3, 2, 8}, 10, 3, 1000, 5)
	if ex || len(sols) != 2 || !reflect.DeepEqual(sols[0], []int{0, 1, 2}) || !reflect.DeepEqual(sols[1], []int{2, 3}) {
		t.Fatalf("sols %v exhausted %v", sols, ex)
	}
	if _, ex := Subsets(make([]int64, 30), 1, 8, 100, 2); !ex {
		t.Fatal("budget not enforced")
	}
}

// TestFallbackNeverGuessesWhenBudgetSpent: a search that stops on its budget
// after one exact set cannot know that set is the only one (here a second
// batch fits too), so the deposit is not itemised by it, as the matcher
// drops a block whose search ran out of budget.
func TestFallbackNeverGuessesWhenBudgetSpent(t *testing.T) {
	r := Reports{
		Deposits: []qualpay.Deposit{dep(1, "2026-11-06", "100.00", "")},
		Transactions: []qualpay.SettledTransaction{
			txn(1, 20, "2026-11-04", "100.00", "840", ""), txn(2, 21, "2026-11-05", "100.00", "840", ""),
		},
	}
	for _, tc := range []struct {
		name               string
		budget, maxBatches int
		issue              string
	}{
		{"complete search sees both sets", 1000, 20, IssueAmbiguous},
		{"search stopped by its budget after one set", 1, 20, IssueNoItems},
		{"more candidate batches than searched (MaxBatches)", 1000, 1, IssueNoItems},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Budget, cfg.MaxBatches = tc.budget, tc.maxBatches
			got := Itemise(r, cfg)[0]
			if got.Issue != tc.issue || len(got.Items) != 0 {
				t.Fatalf("issue %q items %+v note %q, want issue %q and no items", got.Issue, got.Items, got.Note, tc.issue)
			}
		})
	}
}

// TestMonthlyFeesClaimedOnce: a billing month's fees are debited once; a
// second negative deposit of the same amount in the next month (a chargeback
// debit, say) must not be itemised by the same fee lines, or the fees would
// be booked twice.
func TestMonthlyFeesClaimedOnce(t *testing.T) {
	r := Reports{
		Deposits: []qualpay.Deposit{dep(1, "2026-12-02", "-45.00", ""), dep(2, "2026-12-09", "-45.00", "")},
		Currency: "USD",
		Fees: []qualpay.StatementFee{
			{BillingMonth: "2026-11-01", FeeCategory: "Monthly", FeesTotal: num("45.00"), FeesPaid: num("0"), DiscountDue: num("0")},
		},
	}
	got := Itemise(r, DefaultConfig())
	if got[0].Method != MethodMonthlyFees || got[0].Issue != "" {
		t.Fatalf("first debit %+v, want the monthly fees", got[0])
	}
	if got[1].Method == MethodMonthlyFees || got[1].Issue != IssueNoItems || len(got[1].Items) != 0 {
		t.Fatalf("second debit %+v, want no items (the fees are the first debit's)", got[1])
	}
}

// TestSharedReferenceNotItemisedTwice: two deposits naming one reference
// (a correction posted beside the original, say) would each take every row of
// that reference, so the same sales would be booked in both payouts; neither
// is itemised by it, and the exception says why.
func TestSharedReferenceNotItemisedTwice(t *testing.T) {
	r := Reports{
		Deposits: []qualpay.Deposit{dep(1, "2026-11-04", "100.00", "777"), dep(2, "2026-11-05", "100.00", "0777")},
		Transactions: []qualpay.SettledTransaction{
			txn(1, 20, "2026-11-03", "100.00", "840", "777"),
		},
	}
	for _, res := range Itemise(r, DefaultConfig()) {
		if res.Issue != IssueAmbiguous || len(res.Items) != 0 {
			t.Fatalf("deposit %d: issue %q items %+v, want ambiguous and no items", res.Deposit.RecID, res.Issue, res.Items)
		}
	}
}
