package example

import (
	"fmt"
	"time"

	"github.com/payrecon/payrecon/shared/qualpay"
)

// The Qualpay worked example: four card sales ($500.00, $300.00, $200.00,
// $1,000.00) in two batches on one day, $29.50 of discount fees, one
// $1,970.50 ACH deposit two days later. Amounts in cents.
var (
	QualpaySales      = [4]int64{50000, 30000, 20000, 100000}
	QualpayFees       = int64(2950)
	QualpayDeposit    = int64(197050)
	QualpayDepositRef = "20261970"
	QualpayDepositID  = int64(880001)
)

// QualpayInvoiceNumber is the invoice number the i-th sale's purchase_id names.
func QualpayInvoiceNumber(i int) string { return fmt.Sprintf("QP-%04d", i+1) }

// QualpayDays picks the example's batch day and deposit day: the latest
// weekday at least two days before today whose deposit two days later is
// also a weekday and not after today.
func QualpayDays(today time.Time) (batch, post time.Time) {
	d := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -2)
	for {
		p := d.AddDate(0, 0, 2)
		if wd, pd := d.Weekday(), p.Weekday(); wd != time.Saturday && wd != time.Sunday && pd != time.Saturday && pd != time.Sunday {
			return d, p
		}
		d = d.AddDate(0, 0, -1)
	}
}

// QualpayWorkedExample returns the reporting rows Qualpay holds for the
// example: the deposit, four settled transactions (batch 1: $500 + $300,
// batch 2: $200 + $1,000) and one statement settlement line per batch whose
// discount_paid adds to $29.50, all carrying the deposit's reference number
// in the three shapes the spec gives it.
func QualpayWorkedExample(merchantID int64, today time.Time) (qualpay.Deposit, []qualpay.SettledTransaction, []qualpay.SettlementRecord) {
	batch, post := QualpayDays(today)
	bd := batch.Format(time.DateOnly)
	money := func(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }
	amt := func(cents int64) qualpay.Amount { a, _ := qualpay.ParseAmount(money(cents)); return a }
	num := func(cents int64) qualpay.Number { n, _ := qualpay.ParseNumber(money(cents)); return n }
	dep := qualpay.Deposit{RecID: QualpayDepositID, MerchantID: merchantID, DBAName: "Demo Bakery", ReferenceNumber: QualpayDepositRef,
		AmtACH: amt(QualpayDeposit), ACHDescription: "QUALPAY DEP", PostDateActual: post.Format(time.DateOnly)}
	var txns []qualpay.SettledTransaction
	for i, c := range QualpaySales {
		ref := QualpayDepositRef
		if i%2 == 1 {
			ref = "000" + ref // the 23-character string form may come zero-padded
		}
		txns = append(txns, qualpay.SettledTransaction{RecID: int64(7701 + i), MerchantID: merchantID, BatchDate: bd, BatchID: int64(601 + i/2),
			BatchNumber: int64(1 + i/2), CardType: "VS", TranDate: bd, SettleDate: bd, AmtTran: amt(c), AmtFunded: amt(c),
			TranCurrency: "840", FundedCurrency: "840", ReferenceNumber: ref, PurchaseID: QualpayInvoiceNumber(i),
			PgID: fmt.Sprintf("%032x", 0x7701+i)})
	}
	var refNum int64
	fmt.Sscan(QualpayDepositRef, &refNum)
	// $29.50 = 1.475% of each batch: $11.80 on $800.00 and $17.70 on $1,200.00.
	sets := []qualpay.SettlementRecord{
		{RecIDLinked: 601, MerchantID: merchantID, BillingMonth: batch.Format("2006-01") + "-01", BatchDate: bd + "T00:00:00Z", ReferenceNumber: refNum,
			AmtPurch: num(80000), AmtReturn: num(0), DiscountPaid: num(1180), AmtNet: num(78820)},
		{RecIDLinked: 602, MerchantID: merchantID, BillingMonth: batch.Format("2006-01") + "-01", BatchDate: bd + "T00:00:00Z", ReferenceNumber: refNum,
			AmtPurch: num(120000), AmtReturn: num(0), DiscountPaid: num(1770), AmtNet: num(118230)},
	}
	return dep, txns, sets
}
