package recon

import (
	"reflect"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/payouts"
)

func item(payout, src, typ string, amount, fee int64, invoice string) payouts.Item {
	return payouts.Item{PayoutID: payout, SourceID: src, Type: typ, Amount: amount, Fee: fee, Net: amount - fee, Currency: "USD", InvoiceID: invoice}
}

// The published worked example: four $1,000 invoices paid by card with $25 fees,
// a $10 Stripe Climate contribution, one $3,890 payout = one $3,890 deposit.
func workedExample() (BankLine, payouts.Payout) {
	p := po("po_demo", 389000, 0)
	for i, inv := range []string{"inv_1", "inv_2", "inv_3", "inv_4"} {
		p.Items = append(p.Items, item(p.ID, "txn_ch"+string(rune('1'+i)), payouts.ItemCharge, 100000, 2500, inv))
	}
	p.Items = append(p.Items, item(p.ID, "txn_climate", payouts.ItemClimate, -1000, 0, ""))
	return ln("plaid_dep", 389000, 0, "STRIPE TRANSFER"), p
}

func TestJournalWorkedExample(t *testing.T) {
	line, p := workedExample()
	if payouts.SumNet(p.Items) != 389000 {
		t.Fatalf("items sum to %d", payouts.SumNet(p.Items))
	}
	res, err := Run(Input{Lines: []BankLine{line}, Payouts: []payouts.Payout{p}}, DefaultConfig(day(1)))
	if err != nil || len(res.Matches) != 1 {
		t.Fatalf("match: %+v %v", res, err)
	}
	m := res.Matches[0]
	entries, err := Journal(Posting{Kind: m.Kind, Lines: []BankLine{line}, Payouts: []payouts.Payout{p}}, DefaultAccounts())
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckBalanced(entries); err != nil {
		t.Fatal(err)
	}
	b := Balances(entries)
	want := map[string]int64{
		"Merchant Fees":         10000,   // $100.00 of fees expense
		"Climate Contributions": 1000,    // $10.00 of climate expense
		"Bank":                  389000,  // the deposit
		"Accounts Receivable":   -400000, // four invoices settled
		"Stripe Clearing":       0,       // clearing nets to zero
	}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("balances = %v, want %v", b, want)
	}
	var kinds []string
	var dr, cr int64
	for _, e := range entries {
		kinds = append(kinds, e.Kind)
		for _, l := range e.Lines {
			dr += l.Debit
			cr += l.Credit
		}
	}
	if strings.Join(kinds, ",") != "payments,fees,climate,deposit" {
		t.Errorf("entry kinds = %v", kinds)
	}
	if dr != cr || dr != 400000+10000+1000+389000 {
		t.Errorf("debits %d credits %d", dr, cr)
	}
	if got := InvoiceIDs([]payouts.Payout{p}); strings.Join(got, ",") != "inv_1,inv_2,inv_3,inv_4" {
		t.Errorf("invoices = %v", got)
	}
}

func TestJournalCategories(t *testing.T) {
	mk := func(id string, its ...payouts.Item) payouts.Payout {
		p := po(id, 0, 0)
		for i := range its {
			its[i].PayoutID = id
		}
		p.Items = its
		p.Amount = payouts.SumNet(its)
		return p
	}
	tests := []struct {
		name string
		p    payouts.Payout
		want map[string]int64 // non-zero balances besides Bank and clearing
	}{
		{"refund with returned fee", mk("po_r",
			item("", "t1", payouts.ItemCharge, 5000, 175, "inv_1"),
			item("", "t2", payouts.ItemRefund, -2000, -50, "")),
			map[string]int64{"Accounts Receivable": -5000, "Refunds": 2000, "Merchant Fees": 125}},
		{"lost dispute with its fee", mk("po_d",
			item("", "t1", payouts.ItemCharge, 9000, 291, ""),
			item("", "t2", payouts.ItemDispute, -3000, 1500, "")),
			map[string]int64{"Accounts Receivable": -9000, "Disputes": 3000, "Merchant Fees": 1791}},
		{"adjustments both ways, standalone fee, platform fee, other", mk("po_a",
			item("", "t1", payouts.ItemPayment, 10000, 80, ""),
			item("", "t2", payouts.ItemAdjustment, 300, 0, ""),
			item("", "t3", payouts.ItemAdjustment, -100, 0, ""),
			item("", "t4", payouts.ItemFee, -200, 0, ""),
			item("", "t5", payouts.ItemApplicationFee, -500, 0, ""),
			item("", "t6", "reserve_hold", -50, 0, "")),
			map[string]int64{"Accounts Receivable": -10000, "Processor Adjustments": -200, "Merchant Fees": 280, "Platform Fees": 500, "Other Processor Activity": 50}},
		{"negative payout: refunds exceed payments", mk("po_n",
			item("", "t1", payouts.ItemCharge, 1000, 59, ""),
			item("", "t2", payouts.ItemRefund, -4000, 0, "")),
			map[string]int64{"Accounts Receivable": -1000, "Refunds": 4000, "Merchant Fees": 59}},
		{"payout failure item books nothing itself", mk("po_f2",
			item("", "t1", payouts.ItemCharge, 1000, 59, ""),
			item("", "t2", payouts.ItemPayoutFailure, 7000, 0, "")),
			map[string]int64{"Accounts Receivable": -1000, "Merchant Fees": 59}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line := ln("dep", tc.p.Amount, 0, "STRIPE")
			entries, err := Journal(Posting{Kind: KindSingle, Lines: []BankLine{line}, Payouts: []payouts.Payout{tc.p}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			b := Balances(entries)
			if b["Bank"] != tc.p.Amount {
				t.Errorf("bank = %d, want %d", b["Bank"], tc.p.Amount)
			}
			clearing := b["Stripe Clearing"]
			delete(b, "Bank")
			delete(b, "Stripe Clearing")
			for k, v := range b {
				if v == 0 {
					delete(b, k)
				}
			}
			if !reflect.DeepEqual(b, tc.want) {
				t.Errorf("balances = %v, want %v", b, tc.want)
			}
			// Clearing nets to zero except for payout-failure funds, whose other
			// side was booked with the failed payout.
			var failure int64
			for _, it := range tc.p.Items {
				if it.Type == payouts.ItemPayoutFailure {
					failure += it.Net
				}
			}
			if clearing != -failure {
				t.Errorf("clearing = %d, want %d", clearing, -failure)
			}
		})
	}
}

func TestJournalBatchReturnedReverse(t *testing.T) {
	p1 := po("po_1", 0, 0)
	p1.Items = []payouts.Item{item("po_1", "t1", payouts.ItemCharge, 10000, 300, "")}
	p1.Amount = 9700
	p2 := po("po_2", 0, 0, qualpay)
	p2.Items = []payouts.Item{item("po_2", "t2", payouts.ItemCharge, 5000, 100, "")}
	p2.Amount = 4900
	dep := ln("dep", 14600, 1, "DEPOSIT")
	t.Run("batch books both payouts and one deposit", func(t *testing.T) {
		entries, err := Journal(Posting{Kind: KindManual, Lines: []BankLine{dep}, Payouts: []payouts.Payout{p2, p1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := Balances(entries)
		if b["Bank"] != 14600 || b["Stripe Clearing"] != 0 || b["Qualpay Clearing"] != 0 {
			t.Fatalf("balances %v", b)
		}
		last := entries[len(entries)-1]
		if last.Kind != EntryDeposit || len(last.Lines) != 3 {
			t.Fatalf("deposit entry %+v", last)
		}
	})
	t.Run("returned: deposit and return cancel", func(t *testing.T) {
		f := po("po_f", 9000, 0, status(payouts.StatusFailed))
		entries, err := Journal(Posting{Kind: KindReturned, Lines: []BankLine{ln("d", 9000, 0, "STRIPE"), ln("r", -9000, 2, "STRIPE")},
			Payouts: []payouts.Payout{f}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range Balances(entries) {
			if v != 0 {
				t.Errorf("%s = %d", k, v)
			}
		}
	})
	t.Run("failed payout items sit in clearing", func(t *testing.T) {
		entries, err := JournalFailedPayout(p1, day(0), nil)
		if err != nil {
			t.Fatal(err)
		}
		if b := Balances(entries); b["Stripe Clearing"] != 9700 {
			t.Fatalf("clearing = %v", b)
		}
	})
	t.Run("reverse undoes everything", func(t *testing.T) {
		entries, err := Journal(Posting{Kind: KindBatch, Lines: []BankLine{dep}, Payouts: []payouts.Payout{p1, p2}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rev := Reverse(entries, day(5))
		if err := CheckBalanced(rev); err != nil {
			t.Fatal(err)
		}
		for k, v := range Balances(append(entries, rev...)) {
			if v != 0 {
				t.Errorf("%s = %d after reversal", k, v)
			}
		}
		if rev[0].Kind != EntryReversal || rev[0].Reverses != entries[0].Kind || rev[0].Date != day(5) {
			t.Errorf("reversal entry %+v", rev[0])
		}
	})
}

func TestJournalRefusesWhatDoesNotAddUp(t *testing.T) {
	line, p := workedExample()
	short := p
	short.Items = p.Items[:4]
	wrongNet := p
	wrongNet.Items = append([]payouts.Item(nil), p.Items...)
	wrongNet.Items[0].Net++
	eur := p
	eur.Currency = "EUR"
	pend := p
	pend.ItemisationStatus = payouts.ItemisationPending
	tests := []struct {
		name string
		p    Posting
	}{
		{"items do not sum to the payout", Posting{Kind: KindSingle, Lines: []BankLine{line}, Payouts: []payouts.Payout{short}}},
		{"amount - fee != net", Posting{Kind: KindSingle, Lines: []BankLine{line}, Payouts: []payouts.Payout{wrongNet}}},
		{"currency differs", Posting{Kind: KindSingle, Lines: []BankLine{line}, Payouts: []payouts.Payout{eur}}},
		{"not itemised", Posting{Kind: KindSingle, Lines: []BankLine{line}, Payouts: []payouts.Payout{pend}}},
		{"line amount differs", Posting{Kind: KindSingle, Lines: []BankLine{ln("x", 1, 0, "")}, Payouts: []payouts.Payout{p}}},
		{"unknown kind", Posting{Kind: "guess", Lines: []BankLine{line}, Payouts: []payouts.Payout{p}}},
		{"returned that does not mirror", Posting{Kind: KindReturned, Lines: []BankLine{line, line}, Payouts: []payouts.Payout{p}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Journal(tc.p, nil); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestAccounts(t *testing.T) {
	t.Run("overrides apply, defaults stay", func(t *testing.T) {
		a, err := WithOverrides(map[string]string{"fees": "6100 Card Fees", "clearing.stripe": "1210 Stripe", "bank.acc_9": "1010 Checking"})
		if err != nil {
			t.Fatal(err)
		}
		line, p := workedExample()
		line.AccountID = "acc_9"
		entries, err := Journal(Posting{Kind: KindSingle, Lines: []BankLine{line}, Payouts: []payouts.Payout{p}}, a)
		if err != nil {
			t.Fatal(err)
		}
		b := Balances(entries)
		if b["6100 Card Fees"] != 10000 || b["1010 Checking"] != 389000 || b["Climate Contributions"] != 1000 {
			t.Fatalf("balances %v", b)
		}
		if _, ok := b["1210 Stripe"]; !ok {
			t.Fatalf("clearing override unused: %v", b)
		}
	})
	t.Run("unknown keys and empty names are refused", func(t *testing.T) {
		errs := ValidateAccounts(map[string]string{"feez": "x", "fees": " ", "refunds": "ok"})
		if len(errs) != 2 || errs["feez"] == "" || errs["fees"] == "" {
			t.Fatalf("errs = %v", errs)
		}
		if _, err := WithOverrides(map[string]string{"feez": "x"}); err == nil {
			t.Fatal("want an error")
		}
	})
	t.Run("unknown provider clearing gets a readable default", func(t *testing.T) {
		if got := DefaultAccounts().Clearing("adyen"); got != "Adyen Clearing" {
			t.Fatal(got)
		}
	})
}

// Stripe writes ISK with two decimals (100 = 1 króna); the bank feed and the
// ledger use ISO's zero. A match in ISK books the bank's krónur and balances.
func TestJournalStripeTwoDecimalISK(t *testing.T) {
	isk := func(p *payouts.Payout) { p.Currency = "ISK" }
	p := po("po_isk", 1_000_000, 0, isk) // kr 10,000 in Stripe's units
	for _, it := range []payouts.Item{
		item(p.ID, "txn_ch1", payouts.ItemCharge, 1_050_000, 50_000, "inv_1"), // kr 10,500, fee kr 500
	} {
		it.Currency = "ISK"
		p.Items = append(p.Items, it)
	}
	line := ln("plaid_isk", 10_000, 0, "STRIPE TRANSFER", func(l *BankLine) { l.Currency = "ISK" })
	res, err := Run(Input{Lines: []BankLine{line}, Payouts: []payouts.Payout{p}}, DefaultConfig(day(1)))
	if err != nil || len(res.Matches) != 1 {
		t.Fatalf("match: %+v %v", res, err)
	}
	entries, err := Journal(Posting{Kind: res.Matches[0].Kind, Lines: []BankLine{line}, Payouts: []payouts.Payout{p}}, DefaultAccounts())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"Bank": 10_000, "Merchant Fees": 500, "Accounts Receivable": -10_500, "Stripe Clearing": 0}
	if b := Balances(entries); !reflect.DeepEqual(b, want) {
		t.Fatalf("balances = %v, want %v", b, want)
	}
	t.Run("fractional krónur are refused, not booked", func(t *testing.T) {
		q := p
		q.Items = []payouts.Item{item(p.ID, "txn_ch1", payouts.ItemCharge, 1_050_050, 50_050, "inv_1")}
		q.Items[0].Currency = "ISK"
		if _, err := Journal(Posting{Kind: KindSingle, Lines: []BankLine{line}, Payouts: []payouts.Payout{q}}, DefaultAccounts()); err == nil {
			t.Fatal("a fractional ISK amount was booked")
		}
	})
}
