package qualpayfake

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/money"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// GenConfig shapes generated Qualpay reporting data. The days it makes follow
// how Qualpay funds a merchant (developer.qualpay.com "Funding and
// Settlement"; the report fields are those of specs/qualpay-openapi.yaml):
// card batches close daily (several a day for a busy merchant, weekends
// included); each business day one ACH deposit funds every batch settled
// since the last one, so Friday's, Saturday's and Sunday's batches arrive
// together on Monday; the discount is deducted daily per batch
// (StatementSettlementData.discount_paid); a day whose refunds exceed its
// sales is a negative deposit (a debit); the month's other fees are debited
// early in the next month (StatementFeeData); and now and then a deposit
// posts later than usual.
type GenConfig struct {
	Seed      uint64
	Merchants int
	Days      int
	Start     time.Time // first batch day (UTC date)
	// NoRefEvery: every n-th deposit's rows carry no reference_number, so it
	// is found by the batch-set fallback (0 = never).
	NoRefEvery int
	// Currencies are the funded currencies (ISO numeric) of merchants, in turn
	// ("840" for all when empty).
	Currencies []string
}

// Generated is the reporting data plus the bank's view and the truth.
type Generated struct {
	Deposits     []qualpay.Deposit
	Transactions []qualpay.SettledTransaction
	Settlements  []qualpay.SettlementRecord
	Fees         []qualpay.StatementFee
	Batches      []qualpay.Batch
	// Bank is one bank credit (or debit) per deposit, in the deposit's
	// currency and minor units, posted on post_date_actual (every fourth a
	// business day later).
	Bank []BankCredit
}

// BankCredit is a deposit as the merchant's bank shows it.
type BankCredit struct {
	ID         string
	MerchantID int64
	DepositID  int64 // the truth: rec_id of the deposit
	Amount     int64 // minor units, + = money in
	Currency   string
	Date       time.Time
	Name       string
}

// Merchant IDs of generated merchants: GenMerchantBase+i.
const GenMerchantBase = int64(212000000100)

func businessDay(t time.Time) bool { return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday }

func nextBusinessDay(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if businessDay(t) {
			n--
		}
	}
	return t
}

// Generate makes cfg's data, deterministically from cfg.Seed.
func Generate(cfg GenConfig) (Generated, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	if len(cfg.Currencies) == 0 {
		cfg.Currencies = []string{"840"}
	}
	start := time.Date(cfg.Start.Year(), cfg.Start.Month(), cfg.Start.Day(), 0, 0, 0, 0, time.UTC)
	var g Generated
	var recID, batchID, depID int64 = 1, 1, 1
	for m := 0; m < cfg.Merchants; m++ {
		mid := GenMerchantBase + int64(m)
		num := cfg.Currencies[m%len(cfg.Currencies)]
		cur, err := qualpay.CurrencyFromNumeric(num)
		if err != nil {
			return g, err
		}
		exp, err := money.Exponent(cur)
		if err != nil {
			return g, err
		}
		unit := int64(1)
		for i := int32(0); i < exp; i++ {
			unit *= 10
		}
		// pending batches waiting for their deposit: their rows get its reference later.
		type pend struct {
			txns []int // indexes into g.Transactions
			set  int   // index into g.Settlements
			net  int64
		}
		var pending []pend
		negDay := 3 + rng.IntN(max(1, cfg.Days-6)) // one day of refunds above sales
		for d := 0; d < cfg.Days; d++ {
			day := start.AddDate(0, 0, d)
			nb := 1 + rng.IntN(3)
			if !businessDay(day) {
				nb = rng.IntN(2) + 1
			}
			for b := 0; b < nb; b++ {
				var purch, ret int64
				var idx []int
				nt := 1 + rng.IntN(5)
				for k := 0; k < nt; k++ {
					amt := (5 + rng.Int64N(495)) * unit
					if exp > 0 {
						amt += rng.Int64N(unit)
					}
					if d == negDay && k == 0 {
						amt = -(3000*unit + rng.Int64N(500*unit)) // a large refund
					} else if rng.IntN(12) == 0 {
						amt = -amt // an ordinary refund
					}
					if amt >= 0 {
						purch += amt
					} else {
						ret -= amt
					}
					pg := fmt.Sprintf("%032x", uint64(mid)<<20|uint64(recID))
					txt := money.Format(amt, cur)
					g.Transactions = append(g.Transactions, qualpay.SettledTransaction{
						RecID: recID, MerchantID: mid, BatchDate: day.Format(time.DateOnly), BatchNumber: int64(b + 1), BatchID: batchID,
						CardType: "VS", TranDate: day.Format(time.DateOnly), SettleDate: day.Format(time.DateOnly),
						AmtTran: mustAmt(txt), AmtFunded: mustAmt(txt), TranCurrency: num, FundedCurrency: num, PgID: pg,
						PurchaseID: "INV-" + strconv.FormatInt(recID, 10),
					})
					idx = append(idx, len(g.Transactions)-1)
					recID++
				}
				disc := purch * 29 / 1000 // 2.9% discount, rounded down (Qualpay's rounding is the acquirer's)
				net := purch - ret - disc
				g.Settlements = append(g.Settlements, qualpay.SettlementRecord{
					RecIDLinked: batchID, MerchantID: mid, BillingMonth: time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
					BatchDate: day.Format(time.DateOnly) + "T00:00:00Z", CntPurch: mustNum(strconv.Itoa(nt)),
					AmtPurch: mustNum(money.Format(purch, cur)), AmtReturn: mustNum(money.Format(ret, cur)),
					DiscountPaid: mustNum(money.Format(disc, cur)), AmtNet: mustNum(money.Format(net, cur)),
				})
				g.Batches = append(g.Batches, qualpay.Batch{BatchID: batchID, MerchantID: mid, TranCurrency: num, BatchNumber: int64(b + 1),
					BatchDate: day.Format(time.DateOnly), AmtTotal: mustAmt(money.Format(purch-ret, cur)), CntTotal: strconv.Itoa(nt),
					AmtPurch: mustAmt(money.Format(purch, cur)), AmtReturn: mustAmt(money.Format(ret, cur))})
				batchID++
				pending = append(pending, pend{txns: idx, set: len(g.Settlements) - 1, net: net})
			}
			// On business days the batches settled so far are funded the
			// next business day (a late one two days later).
			if !businessDay(day) || len(pending) == 0 {
				continue
			}
			post := nextBusinessDay(day, 1)
			if rng.IntN(15) == 0 {
				post = nextBusinessDay(day, 3) // a late posting
			}
			var total int64
			ref := strconv.FormatInt(40000000+depID, 10)
			noRef := cfg.NoRefEvery > 0 && depID%int64(cfg.NoRefEvery) == 0
			for _, p := range pending {
				total += p.net
				if noRef {
					continue
				}
				for i, ti := range p.txns {
					r := ref
					if i%2 == 1 {
						r = "000" + ref // the same reference, zero-padded
					}
					g.Transactions[ti].ReferenceNumber = r
				}
				n, _ := strconv.ParseInt(ref, 10, 64)
				g.Settlements[p.set].ReferenceNumber = n
			}
			pending = pending[:0]
			g.addDeposit(depID, mid, ref, total, cur, post)
			depID++
		}
		// The monthly fee debit for each full month: posted on the second
		// business day of the next month.
		for month := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC); ; month = month.AddDate(0, 1, 0) {
			next := month.AddDate(0, 1, 0)
			post := nextBusinessDay(next.AddDate(0, 0, -1), 2)
			if !post.Before(start.AddDate(0, 0, cfg.Days)) {
				break
			}
			var due int64
			for _, f := range []struct {
				cat, desc string
				amt       int64
			}{{"Monthly", "Monthly service fee", 1000}, {"PCI", "PCI compliance", 995}, {"Statement", "Statement fee", 500}} {
				a := f.amt * unit / 100
				due += a
				g.Fees = append(g.Fees, qualpay.StatementFee{MerchantID: mid, BillingMonth: month.Format(time.DateOnly), FeeCategory: f.cat,
					Count: 1, AmtFees: mustNum(money.Format(a, cur)), DiscountDue: mustNum("0"), Description: f.desc,
					FeesPaid: mustNum("0"), FeesTotal: mustNum(money.Format(a, cur))})
			}
			g.addDeposit(depID, mid, "", -due, cur, post)
			depID++
		}
	}
	return g, nil
}

func (g *Generated) addDeposit(id, mid int64, ref string, amount int64, cur string, post time.Time) {
	desc := "QUALPAY DEP"
	if amount < 0 {
		desc = "QUALPAY FEES"
	}
	g.Deposits = append(g.Deposits, qualpay.Deposit{RecID: id, MerchantID: mid, DBAName: "MERCHANT " + strconv.FormatInt(mid%1000, 10),
		ReferenceNumber: ref, AmtACH: mustAmt(money.Format(amount, cur)), ACHDescription: desc, PostDateActual: post.Format(time.DateOnly)})
	bankDay := post
	if id%4 == 0 { // post_date_actual is when the ACH reached the Federal Reserve; some banks show it a day later
		bankDay = nextBusinessDay(post, 1)
	}
	g.Bank = append(g.Bank, BankCredit{ID: "bank_" + strconv.FormatInt(id, 10), MerchantID: mid, DepositID: id, Amount: amount,
		Currency: cur, Date: bankDay, Name: desc + " " + strings.TrimSpace(ref)})
}

// Seed loads g into the fake's reporting calls.
func (f *Fake) Seed(g Generated) {
	f.SeedDeposits(g.Deposits...)
	f.SeedTransactions(g.Transactions...)
	f.SeedSettlements(g.Settlements...)
	f.SeedFees(g.Fees...)
	f.SeedBatches(g.Batches...)
}

func mustAmt(s string) qualpay.Amount {
	a, err := qualpay.ParseAmount(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		panic(fmt.Sprintf("qualpayfake: generated amount %q: %v", s, err)) // a generator bug, not input
	}
	return a
}

func mustNum(s string) qualpay.Number {
	n, err := qualpay.ParseNumber(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		panic(fmt.Sprintf("qualpayfake: generated number %q: %v", s, err))
	}
	return n
}
