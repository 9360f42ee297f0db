package qualpayrecon_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/qualpayrecon"
	"github.com/payrecon/payrecon/shared/recon"
)

// accuracy is how generated Qualpay deposits fare from reporting rows to
// bank matches: itemised exactly, then matched to the right bank line.
type accuracy struct {
	deposits, complete, matches, correct int
	precision, recall                    float64
	wrong                                []string
}

// score itemises each merchant's rows as the puller does, then runs the
// matcher per merchant (one company each) against the bank's lines.
func score(tb testing.TB, g qualpayfake.Generated, today time.Time) accuracy {
	tb.Helper()
	byM := map[int64]*qualpayrecon.Reports{}
	rep := func(mid int64) *qualpayrecon.Reports {
		if byM[mid] == nil {
			byM[mid] = &qualpayrecon.Reports{MerchantID: mid}
		}
		return byM[mid]
	}
	for _, d := range g.Deposits {
		rep(d.MerchantID).Deposits = append(rep(d.MerchantID).Deposits, d)
	}
	for _, t := range g.Transactions {
		rep(t.MerchantID).Transactions = append(rep(t.MerchantID).Transactions, t)
	}
	for _, s := range g.Settlements {
		rep(s.MerchantID).Settlements = append(rep(s.MerchantID).Settlements, s)
	}
	for _, f := range g.Fees {
		rep(f.MerchantID).Fees = append(rep(f.MerchantID).Fees, f)
	}
	var a accuracy
	for mid, r := range byM {
		merchant := strconv.FormatInt(mid, 10)
		var in recon.Input
		for _, res := range qualpayrecon.Itemise(*r, qualpayrecon.DefaultConfig()) {
			a.deposits++
			po, ok := qualpayrecon.Payout(res, "p", "c", merchant)
			if !ok {
				continue
			}
			po.ItemisationStatus = payouts.ItemisationIncomplete
			if res.Issue == "" {
				a.complete++
				po.ItemisationStatus = payouts.ItemisationComplete
			}
			po.ItemCount = len(res.Items)
			in.Payouts = append(in.Payouts, po)
		}
		truth := map[string]string{}
		for _, b := range g.Bank {
			if b.MerchantID != mid {
				continue
			}
			truth[b.ID] = qualpayrecon.PayoutID(merchant, b.DepositID)
			in.Lines = append(in.Lines, recon.BankLine{ID: b.ID, AccountID: "bank", Amount: b.Amount, Currency: b.Currency,
				Date: recon.DateFromTime(b.Date), Name: b.Name})
		}
		res, err := recon.Run(in, recon.DefaultConfig(recon.DateFromTime(today)))
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range res.Matches {
			a.matches++
			if len(m.LineIDs) == 1 && len(m.PayoutIDs) == 1 && truth[m.LineIDs[0]] == m.PayoutIDs[0] {
				a.correct++
			} else {
				a.wrong = append(a.wrong, fmt.Sprintf("%v -> %v", m.LineIDs, m.PayoutIDs))
			}
		}
	}
	a.precision, a.recall = 1, 1
	if a.matches > 0 {
		a.precision = float64(a.correct) / float64(a.matches)
	}
	if a.deposits > 0 {
		a.recall = float64(a.correct) / float64(a.deposits)
	}
	return a
}

func genConfig(merchants, days int) qualpayfake.GenConfig {
	return qualpayfake.GenConfig{Seed: 15, Merchants: merchants, Days: days, Start: time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC),
		NoRefEvery: 7, Currencies: []string{"840", "840", "124", "392"}}
}

// TestGeneratedAccuracy is the small scenario of `make test`: several
// merchants (one in CAD, one in JPY) over seven weeks with several batches a
// day, weekend batches deposited together, a negative net day per merchant,
// late postings, monthly fee debits and every seventh deposit without a
// reference. Goal: precision 100%, recall ≥ 99% on deposits.
func TestGeneratedAccuracy(t *testing.T) {
	cfg := genConfig(4, 49)
	g, err := qualpayfake.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := score(t, g, cfg.Start.AddDate(0, 0, cfg.Days+14))
	t.Logf("deposits %d, itemised exactly %d, matches %d, correct %d: precision %.4f recall %.4f",
		a.deposits, a.complete, a.matches, a.correct, a.precision, a.recall)
	if a.precision < 1 || a.recall < 0.99 {
		t.Fatalf("precision %.4f recall %.4f; wrong: %v", a.precision, a.recall, a.wrong)
	}
}

// BenchmarkGeneratedAccuracy is the large scenario (`make bench`): 40
// merchants over six months. It reports precision and recall with the time.
func BenchmarkGeneratedAccuracy(b *testing.B) {
	cfg := genConfig(40, 182)
	g, err := qualpayfake.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var a accuracy
	for i := 0; i < b.N; i++ {
		a = score(b, g, cfg.Start.AddDate(0, 0, cfg.Days+14))
	}
	b.ReportMetric(float64(a.deposits), "deposits")
	b.ReportMetric(a.precision*100, "precision%")
	b.ReportMetric(a.recall*100, "recall%")
	if a.precision < 1 || a.recall < 0.99 {
		b.Fatalf("precision %.4f recall %.4f; wrong: %v", a.precision, a.recall, a.wrong[:min(5, len(a.wrong))])
	}
}
