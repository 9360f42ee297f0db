package qualpay

import (
	"context"
	"strconv"
	"time"
)

// Reporting calls used to reconcile a bank deposit: the deposit itself
// (/reporting/deposits, net amt_ach), the settled batches and transactions
// behind it (/reporting/batches, /reporting/transactions) and the monthly
// statement lines (settlement and fees) that explain deductions. Each
// ...All call walks every page.

// Deposit is one ACH deposit or withdrawal (spec: DepositData). AmtACH is the
// net amount that reached (or left, when negative) the merchant's bank.
type Deposit struct {
	RecID           int64  `json:"rec_id,omitempty"`
	MerchantID      int64  `json:"merchant_id,omitempty"`
	DBAName         string `json:"dba_name,omitempty"`
	ReferenceNumber string `json:"reference_number,omitempty"`
	AmtACH          Amount `json:"amt_ach,omitzero"`
	ACHDescription  string `json:"ach_description,omitempty"`
	PostDateActual  string `json:"post_date_actual,omitempty"`
}

// NetMinor is AmtACH in cents. Qualpay deposits are in US dollars (the report
// carries no currency).
func (d Deposit) NetMinor() (int64, error) { return d.AmtACH.Minor("USD") }

// PostDate is the calendar date the ACH posted.
func (d Deposit) PostDate() (time.Time, error) { return ParseDate(d.PostDateActual) }

// Batch is a settled batch (spec: BatchData). Counts come as strings.
type Batch struct {
	BatchID      int64  `json:"batch_id,omitempty"`
	MerchantID   int64  `json:"merchant_id,omitempty"`
	TranCurrency string `json:"tran_currency,omitempty"` // ISO 4217 numeric
	BatchNumber  int64  `json:"batch_number,omitempty"`
	BatchDate    string `json:"batch_date,omitempty"`
	AmtTotal     Amount `json:"amt_total,omitzero"`
	CntTotal     string `json:"cnt_total,omitempty"`
	AmtPurch     Amount `json:"amt_purch,omitzero"`
	CntPurch     string `json:"cnt_purch,omitempty"`
	AmtReturn    Amount `json:"amt_return,omitzero"`
	CntReturn    string `json:"cnt_return,omitempty"`
}

// SettlementRecord is a statement settlement line (spec: StatementSettlementData):
// per settled batch, the purchases, returns, discount deducted and net funded.
type SettlementRecord struct {
	RecIDLinked     int64  `json:"rec_id_linked,omitempty"`
	MerchantID      int64  `json:"merchant_id,omitempty"`
	BillingMonth    string `json:"billing_month,omitempty"`
	BatchDate       string `json:"batch_date,omitempty"` // RFC 3339 date-time
	ReferenceNumber int64  `json:"reference_number,omitempty"`
	CntPurch        Number `json:"cnt_purch,omitzero"`
	AmtPurch        Number `json:"amt_purch,omitzero"`
	AmtReturn       Number `json:"amt_return,omitzero"`
	DiscountPaid    Number `json:"discount_paid,omitzero"`
	AmtNet          Number `json:"amt_net,omitzero"`
	SourceID        int64  `json:"source_id,omitempty"`
}

// StatementFee is a statement fee line (spec: StatementFeeData).
type StatementFee struct {
	RecIDLinked  int64  `json:"rec_id_linked,omitempty"`
	MerchantID   int64  `json:"merchant_id,omitempty"`
	BillingMonth string `json:"billing_month,omitempty"`
	FeeCategory  string `json:"fee_category,omitempty"`
	Count        int64  `json:"count,omitempty"`
	AmtFees      Number `json:"amt_fees,omitzero"`
	PerItem      Number `json:"per_item,omitzero"`
	Rate         Number `json:"rate,omitzero"`
	DiscountDue  Number `json:"discount_due,omitzero"` // required by the spec
	Description  string `json:"description,omitempty"`
	FeesPaid     Number `json:"fees_paid,omitzero"`
	FeesTotal    Number `json:"fees_total,omitzero"`
}

// SettledTransaction is a settled card transaction (spec:
// SettledTransactionRequest). CardNumber is masked by Qualpay.
type SettledTransaction struct {
	RecID              int64  `json:"rec_id,omitempty"`
	MerchantID         int64  `json:"merchant_id,omitempty"`
	BatchDate          string `json:"batch_date,omitempty"`
	DBAName            string `json:"dba_name,omitempty"`
	BatchNumber        int64  `json:"batch_number,omitempty"`
	BatchID            int64  `json:"batch_id,omitempty"`
	CardNumber         string `json:"card_number,omitempty"`
	CardType           string `json:"card_type,omitempty"`
	AuthDate           string `json:"auth_date,omitempty"`
	TranDate           string `json:"tran_date,omitempty"`
	SettleDate         string `json:"settle_date,omitempty"`
	AmtAuth            Amount `json:"amt_auth,omitzero"`
	AmtTran            Amount `json:"amt_tran,omitzero"`
	TranCurrency       string `json:"tran_currency,omitempty"`
	ReferenceNumber    string `json:"reference_number,omitempty"`
	PurchaseID         string `json:"purchase_id,omitempty"`
	AuthCode           string `json:"auth_code,omitempty"`
	AmtFunded          Amount `json:"amt_funded,omitzero"`
	FundedCurrency     string `json:"funded_currency,omitempty"`
	PgID               string `json:"pg_id,omitempty"`
	MerchRefNum        string `json:"merch_ref_num,omitempty"`
	AcqReferenceNumber string `json:"acq_reference_number,omitempty"`
}

// FundedMinor is AmtFunded in minor units of FundedCurrency.
func (t SettledTransaction) FundedMinor() (int64, string, error) {
	cur, err := CurrencyFromNumeric(t.FundedCurrency)
	if err != nil {
		return 0, "", err
	}
	v, err := t.AmtFunded.Minor(cur)
	return v, cur, err
}

// ReportQuery scopes a report walk to one merchant.
type ReportQuery struct {
	MerchantID int64
	Filters    []Filter
	OrderOn    string
	OrderBy    string
	// PageSize is rows per request (1–100, default 100).
	PageSize int
}

func (q ReportQuery) params() (ListParams, error) {
	if err := checkMerchant(q.MerchantID); err != nil {
		return ListParams{}, err
	}
	fs := append([]Filter{Eq("merchant_id", strconv.FormatInt(q.MerchantID, 10))}, q.Filters...)
	return ListParams{Count: q.PageSize, OrderOn: q.OrderOn, OrderBy: q.OrderBy, Filters: fs}, nil
}

func walk[T any](ctx context.Context, cl *Client, route string, q ReportQuery, key func(T) string) ([]T, error) {
	p, err := q.params()
	if err != nil {
		return nil, err
	}
	return all(ctx, cl, route, p, key)
}

// DepositsAll reads every deposit matching q (e.g. DateBetween("post_date_actual", …)).
func (cl *Client) DepositsAll(ctx context.Context, q ReportQuery) ([]Deposit, error) {
	return walk(ctx, cl, "/reporting/deposits", q, func(d Deposit) string { return idKey(d.RecID) })
}

// BatchesAll reads every settled batch matching q.
func (cl *Client) BatchesAll(ctx context.Context, q ReportQuery) ([]Batch, error) {
	return walk(ctx, cl, "/reporting/batches", q, func(b Batch) string { return idKey(b.BatchID) })
}

// SettlementStatementAll reads every statement settlement line matching q.
func (cl *Client) SettlementStatementAll(ctx context.Context, q ReportQuery) ([]SettlementRecord, error) {
	return walk[SettlementRecord](ctx, cl, "/reporting/statement-report/settlement", q, nil)
}

// StatementFeesAll reads every statement fee line matching q.
func (cl *Client) StatementFeesAll(ctx context.Context, q ReportQuery) ([]StatementFee, error) {
	return walk[StatementFee](ctx, cl, "/reporting/statement-report/fees", q, nil)
}

// SettledTransactionsAll reads every settled transaction matching q (e.g.
// In("batch_id", …) for the batches a deposit covers).
func (cl *Client) SettledTransactionsAll(ctx context.Context, q ReportQuery) ([]SettledTransaction, error) {
	return walk(ctx, cl, "/reporting/transactions", q, func(t SettledTransaction) string { return idKey(t.RecID) })
}

// idKey is a dedupe key; rows without an ID are never treated as repeats.
func idKey(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
