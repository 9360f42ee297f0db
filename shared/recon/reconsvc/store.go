// Package reconsvc runs reconciliation against the store: it ingests Plaid bank
// feed pages, runs the matcher of package recon incrementally for a company,
// writes matches with their journal entries and the exceptions, and serves the
// bank-feed, reconcile and reports HTTP APIs.
//
// Items, all in the company partition (store.CompanyPK):
//
//	BANKTXN#<id>       a bank line; while posted and unmatched it is indexed in
//	                   gsi1 under <company>#OPENTXN (money in) or #OPENTXNOUT
//	                   (money out) by date, so a run reads only the open lines
//	                   of the dates and directions it looks at
//	BANKACCT#<id>      a Plaid account: name, currency, sync cursor
//	RPAYOUT#<id>       reconciliation's view of a payout (header fields, match);
//	                   open ones indexed under <company>#OPENPAYOUT by arrival date
//	MATCH#<id>         a match header (status, counts); its journal entries are
//	                   JE#<id>#… chunks and its invoice links MATCHINV#<id>#…
//	                   chunks (ledger.go); an unmatch adds reversal entries,
//	                   entries are never deleted
//	EXC#<hash>         an exception; open ones indexed under <company>#OPENEXC by date
//	RECONCHG#<payout>  a payout change marker written by payout ingestion
//	RECON#STATE        run state; while a run is due it is indexed in gsi1 under
//	                   RECONDUE#<shard> by due date (the scheduler's work list)
//	ACCOUNTS           the company's ledger account names
package reconsvc

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// Sort-key prefixes and fixed keys.
const (
	skLine     = "BANKTXN#"
	skAccount  = "BANKACCT#"
	skPayout   = "RPAYOUT#"
	skMatch    = "MATCH#"
	skExc      = "EXC#"
	skChange   = "RECONCHG#"
	skState    = "RECON#STATE"
	skAccounts = "ACCOUNTS"

	dueShards = 8
)

// Open bank lines are indexed in two partitions by direction: money in
// (deposits, the candidates of ordinary payouts) and money out (spending, the
// bulk of a feed, candidates only of negative or failed payouts). A run reads
// the money-in lines of its whole horizon but money-out lines only from the
// earliest changed date, unless a negative or failed payout needs them.
func openLinesPK(pk string) string    { return pk + "#OPENTXN" }
func openOutLinesPK(pk string) string { return pk + "#OPENTXNOUT" }

// openPK is the index partition an open line of amount lives in.
func openPK(pk string, amount int64) string {
	if amount < 0 {
		return openOutLinesPK(pk)
	}
	return openLinesPK(pk)
}
func openPayoutsPK(pk string) string { return pk + "#OPENPAYOUT" }
func openExcPK(pk string) string     { return exceptions.OpenPK(pk) }

// duePK spreads the scheduler's work list over a few partitions.
func duePK(partnerID, companyID string) string {
	h := fnv.New32a()
	h.Write([]byte(partnerID + "#" + companyID))
	return "RECONDUE#" + strconv.Itoa(int(h.Sum32()%dueShards))
}

// lineItem is a stored bank line.
type lineItem struct {
	store.Keys
	PartnerID            string    `dynamodbav:"partner_id"`
	CompanyID            string    `dynamodbav:"company_id"`
	ID                   string    `dynamodbav:"id"`
	AccountID            string    `dynamodbav:"account_id"`
	Amount               int64     `dynamodbav:"amount"`
	Currency             string    `dynamodbav:"currency"`
	Date                 string    `dynamodbav:"date"`
	AuthorizedDate       string    `dynamodbav:"authorized_date,omitempty"`
	Name                 string    `dynamodbav:"name,omitempty"`
	MerchantName         string    `dynamodbav:"merchant_name,omitempty"`
	OriginalDescription  string    `dynamodbav:"original_description,omitempty"`
	Counterparties       []string  `dynamodbav:"counterparties,omitempty"`
	Pending              bool      `dynamodbav:"pending"`
	PendingTransactionID string    `dynamodbav:"pending_transaction_id,omitempty"`
	PaymentChannel       string    `dynamodbav:"payment_channel,omitempty"`
	MatchID              string    `dynamodbav:"match_id,omitempty"`
	UpdatedAt            time.Time `dynamodbav:"updated_at"`
}

func newLineItem(pid, cid string, l recon.BankLine, now time.Time) lineItem {
	it := lineItem{
		PartnerID: pid, CompanyID: cid, ID: l.ID, AccountID: l.AccountID, Amount: l.Amount, Currency: l.Currency,
		Date: l.Date.String(), AuthorizedDate: l.AuthorizedDate.String(), Name: l.Name, MerchantName: l.MerchantName,
		OriginalDescription: l.OriginalDescription, Counterparties: l.Counterparties, Pending: l.Pending,
		PendingTransactionID: l.PendingTransactionID, PaymentChannel: l.PaymentChannel, UpdatedAt: now,
	}
	it.PK, it.SK = store.CompanyPK(pid, cid), skLine+l.ID
	it.setOpen()
	return it
}

// setOpen indexes a posted, unmatched line for runs.
func (it *lineItem) setOpen() {
	it.GSI1PK, it.GSI1SK = "", ""
	if !it.Pending && it.MatchID == "" {
		it.GSI1PK, it.GSI1SK = openPK(it.PK, it.Amount), it.Date+"#"+it.ID
	}
}

func (it lineItem) line() recon.BankLine {
	d, _ := recon.ParseDate(it.Date)
	a, _ := recon.ParseDate(it.AuthorizedDate)
	return recon.BankLine{
		ID: it.ID, AccountID: it.AccountID, Amount: it.Amount, Currency: it.Currency, Date: d, AuthorizedDate: a,
		Name: it.Name, MerchantName: it.MerchantName, OriginalDescription: it.OriginalDescription,
		Counterparties: it.Counterparties, Pending: it.Pending, PendingTransactionID: it.PendingTransactionID,
		PaymentChannel: it.PaymentChannel,
	}
}

// BankTransaction is a bank line as the API shows it.
type BankTransaction struct {
	recon.BankLine
	Status  string `json:"status"` // pending, unmatched, matched
	MatchID string `json:"match_id,omitempty"`
}

func (it lineItem) api() BankTransaction {
	st := "unmatched"
	switch {
	case it.Pending:
		st = "pending"
	case it.MatchID != "":
		st = "matched"
	}
	return BankTransaction{BankLine: it.line(), Status: st, MatchID: it.MatchID}
}

// accountItem is a Plaid account and its sync cursor.
type accountItem struct {
	store.Keys
	PartnerID string    `dynamodbav:"partner_id"`
	CompanyID string    `dynamodbav:"company_id"`
	AccountID string    `dynamodbav:"account_id"`
	Name      string    `dynamodbav:"name,omitempty"`
	Mask      string    `dynamodbav:"mask,omitempty"`
	Currency  string    `dynamodbav:"currency,omitempty"`
	Cursor    string    `dynamodbav:"cursor,omitempty"`
	UpdatedAt time.Time `dynamodbav:"updated_at"`
}

// payoutView is what reconciliation keeps of a payout: the fields the matcher
// reads and whether it is matched.
type payoutView struct {
	store.Keys
	PartnerID         string    `dynamodbav:"partner_id"`
	CompanyID         string    `dynamodbav:"company_id"`
	ID                string    `dynamodbav:"id"`
	Provider          string    `dynamodbav:"provider"`
	AccountID         string    `dynamodbav:"account_id"`
	Amount            int64     `dynamodbav:"amount"`
	Currency          string    `dynamodbav:"currency"`
	Status            string    `dynamodbav:"status"`
	ArrivalDate       string    `dynamodbav:"arrival_date"`
	Descriptor        string    `dynamodbav:"descriptor,omitempty"`
	Reference         string    `dynamodbav:"reference,omitempty"`
	ItemisationStatus string    `dynamodbav:"itemisation_status"`
	MatchID           string    `dynamodbav:"match_id,omitempty"`
	SourceUpdatedAt   time.Time `dynamodbav:"source_updated_at"`
}

func newPayoutView(p payouts.Payout) payoutView {
	v := payoutView{
		PartnerID: p.PartnerID, CompanyID: p.CompanyID, ID: p.ID, Provider: p.Provider, AccountID: p.AccountID,
		Amount: p.Amount, Currency: p.Currency, Status: p.Status, ArrivalDate: p.ArrivalDate, Descriptor: p.Descriptor,
		Reference: p.Reference, ItemisationStatus: p.ItemisationStatus, SourceUpdatedAt: p.UpdatedAt,
	}
	v.PK, v.SK = store.CompanyPK(p.PartnerID, p.CompanyID), skPayout+p.ID
	v.setOpen()
	return v
}

func (v *payoutView) setOpen() {
	v.GSI1PK, v.GSI1SK = "", ""
	if v.MatchID == "" && v.ArrivalDate != "" {
		v.GSI1PK, v.GSI1SK = openPayoutsPK(v.PK), v.ArrivalDate+"#"+v.ID
	}
}

// sameSource reports whether the view already reflects p.
func (v payoutView) sameSource(p payouts.Payout) bool {
	return v.Amount == p.Amount && v.Currency == p.Currency && v.Status == p.Status && v.ArrivalDate == p.ArrivalDate &&
		v.Descriptor == p.Descriptor && v.Reference == p.Reference && v.ItemisationStatus == p.ItemisationStatus &&
		v.Provider == p.Provider && v.AccountID == p.AccountID
}

func (v payoutView) payout() payouts.Payout {
	return payouts.Payout{
		PartnerID: v.PartnerID, CompanyID: v.CompanyID, ID: v.ID, Provider: v.Provider, AccountID: v.AccountID,
		Amount: v.Amount, Currency: v.Currency, Status: v.Status, ArrivalDate: v.ArrivalDate, Descriptor: v.Descriptor,
		Reference: v.Reference, ItemisationStatus: v.ItemisationStatus,
	}
}

// Match statuses.
const (
	MatchActive   = "active"
	MatchReversed = "reversed"
)

// Match is a stored match: a small header. Its journal entries and invoice
// links are chunk items of their own (ledger.go), read through it; lists and
// responses carry only the header, whatever the match's size.
type Match struct {
	store.Keys         `json:"-"`
	PartnerID          string     `dynamodbav:"partner_id" json:"-"`
	CompanyID          string     `dynamodbav:"company_id" json:"company_id"`
	ID                 string     `dynamodbav:"id" json:"id"`
	Kind               string     `dynamodbav:"kind" json:"kind"`
	Rule               string     `dynamodbav:"rule" json:"rule"`
	Evidence           int        `dynamodbav:"evidence" json:"evidence"`
	BankTransactionIDs []string   `dynamodbav:"bank_transaction_ids" json:"bank_transaction_ids"` // at most 2
	PayoutIDs          []string   `dynamodbav:"payout_ids" json:"payout_ids"`                     // at most MaxMatchPayouts
	Amount             int64      `dynamodbav:"amount" json:"amount"`
	Currency           string     `dynamodbav:"currency" json:"currency"`
	Date               string     `dynamodbav:"date" json:"date"`
	Status             string     `dynamodbav:"status" json:"status"`
	EntryCount         int        `dynamodbav:"entry_count" json:"entry_count"`     // journal entries, reversals included (GET …/journal-entries?match_id=)
	LineCount          int        `dynamodbav:"line_count" json:"line_count"`       // journal lines over those entries
	InvoiceCount       int        `dynamodbav:"invoice_count" json:"invoice_count"` // invoices its payments paid
	InvoiceChunks      int        `dynamodbav:"invoice_chunks" json:"-"`            // MATCHINV# chunks holding them
	CreatedBy          string     `dynamodbav:"created_by" json:"created_by"`       // reconcile or manual
	CreatedAt          time.Time  `dynamodbav:"created_at" json:"created_at"`
	ReversedAt         *time.Time `dynamodbav:"reversed_at,omitempty" json:"reversed_at,omitempty"`
}

// MaxMatchPayouts bounds a match's payouts (a manual match takes at most 50;
// the matcher's batches are far smaller), so the header has a fixed ceiling.
const MaxMatchPayouts = 50

// Exception statuses.
const (
	ExceptionOpen     = exceptions.StatusOpen
	ExceptionResolved = exceptions.StatusResolved
)

// Exception is a stored exception (shared with money movements' exceptions).
type Exception = exceptions.Exception

func newException(pid, cid string, e recon.Exception, now time.Time) Exception {
	return exceptions.Opened(pid, cid, Exception{
		Key: e.Key, Reason: e.Reason, BankTransactionIDs: e.LineIDs, PayoutIDs: e.PayoutIDs, Amount: e.Amount,
		Currency: e.Currency, Date: e.Date.String(), Message: e.Message, FirstSeen: now,
	})
}

// sameContent reports whether two exceptions say the same thing (so a run that
// finds it again writes nothing).
func sameContent(x, y Exception) bool {
	return x.Key == y.Key && x.Message == y.Message && x.Status == y.Status && x.Amount == y.Amount && x.Date == y.Date
}

// state is a company's reconciliation state.
type state struct {
	store.Keys
	PartnerID string `dynamodbav:"partner_id"`
	CompanyID string `dynamodbav:"company_id"`
	// Version counts changes; a run clears DirtyFrom only if no change came in meanwhile.
	Version int64 `dynamodbav:"version"`
	// DirtyFrom is the earliest date new or changed data touched since the last run.
	DirtyFrom    string    `dynamodbav:"dirty_from,omitempty"`
	LastChangeAt time.Time `dynamodbav:"last_change_at"`
	LastRunAt    time.Time `dynamodbav:"last_run_at"`
	// PayoutsSeenAt is the payout watermark when payouts are listed rather than marked.
	PayoutsSeenAt time.Time `dynamodbav:"payouts_seen_at"`
	LastSummary   *Summary  `dynamodbav:"last_summary,omitempty"`
}

// accountsItem holds a company's ledger account overrides.
type accountsItem struct {
	store.Keys
	PartnerID string            `dynamodbav:"partner_id"`
	CompanyID string            `dynamodbav:"company_id"`
	Accounts  map[string]string `dynamodbav:"accounts"`
	UpdatedAt time.Time         `dynamodbav:"updated_at"`
}

// changeItem marks a payout whose state changed since the last run.
type changeItem struct {
	store.Keys
	PartnerID string    `dynamodbav:"partner_id"`
	CompanyID string    `dynamodbav:"company_id"`
	PayoutID  string    `dynamodbav:"payout_id"`
	At        time.Time `dynamodbav:"at"`
}

// markDirty records that data from date onwards changed: it bumps the version,
// lowers dirty_from to date when earlier, and puts the company on the due list
// for today. Two conditional writes at most; safe to repeat.
func markDirty(ctx context.Context, st *store.Store, pid, cid string, date recon.Date, now time.Time) error {
	return markDirtyWith(ctx, st, pid, cid, date, now, nil)
}

// markDirtyWith updates the company's state (dirty from date, on the due list)
// in one transaction with extra writes, so a payout change is one request; when
// the company is already dirty from an earlier date, a second transaction keeps it.
func markDirtyWith(ctx context.Context, st *store.Store, pid, cid string, date recon.Date, now time.Time, extra []types.TransactWriteItem) error {
	pk := store.CompanyPK(pid, cid)
	today := now.UTC().Format(time.DateOnly)
	base := map[string]any{
		":one": 1, ":zero": 0, ":now": now.UTC(), ":pid": pid, ":cid": cid,
		":due": duePK(pid, cid), ":duesk": today + "#" + pid + "#" + cid, ":d": date.String(),
	}
	set := "SET version = if_not_exists(version, :zero) + :one, last_change_at = :now, partner_id = :pid, company_id = :cid, gsi1pk = :due, gsi1sk = :duesk"
	update := func(expr, cond string) error {
		av, err := store.Values(base)
		if err != nil {
			return err
		}
		u := &types.Update{
			TableName: aws.String(st.Table), Key: store.Key(pk, skState), UpdateExpression: aws.String(expr),
			ExpressionAttributeValues: av,
		}
		if cond != "" {
			u.ConditionExpression = aws.String(cond)
		}
		if len(extra) == 0 {
			_, err = st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
				ExpressionAttributeValues: u.ExpressionAttributeValues, ConditionExpression: u.ConditionExpression,
			})
			return err
		}
		return st.Transact(ctx, append([]types.TransactWriteItem{{Update: u}}, extra...))
	}
	err := update(set+", dirty_from = :d", "attribute_not_exists(dirty_from) OR dirty_from > :d")
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) || errors.Is(err, store.ErrConditionFailed) {
		delete(base, ":d")
		err = update(set, "") // dirty_from is already earlier
	}
	if err != nil {
		return fmt.Errorf("mark company %s dirty: %w", cid, err)
	}
	return nil
}

// MarkPayoutChanged is the hook payout ingestion calls after it records a
// payout's new state (status, itemisation): it leaves a marker the next run
// reads and puts the company on the due list. With it wired, runs read only
// changed payouts (Service.ScanPayouts can be false).
func MarkPayoutChanged(ctx context.Context, st *store.Store, p payouts.Payout, now time.Time) error {
	if p.PartnerID == "" || p.CompanyID == "" || p.ID == "" {
		return errors.New("reconsvc: payout change without partner, company or id")
	}
	c := changeItem{PartnerID: p.PartnerID, CompanyID: p.CompanyID, PayoutID: p.ID, At: now.UTC()}
	c.PK, c.SK = store.CompanyPK(p.PartnerID, p.CompanyID), skChange+p.ID
	put, err := st.PutInput(c, "", nil)
	if err != nil {
		return fmt.Errorf("mark payout %s changed: %w", p.ID, err)
	}
	d, err := recon.ParseDate(p.ArrivalDate)
	if err != nil {
		d = recon.DateFromTime(now)
	}
	return markDirtyWith(ctx, st, p.PartnerID, p.CompanyID, d, now, []types.TransactWriteItem{store.TxPut(put)})
}

// queryAll pages through q, decoding each page into T.
func queryAll[T any](ctx context.Context, st *store.Store, q store.Query, max int) ([]T, error) {
	var out []T
	err := st.QueryAll(ctx, q, max, func(items []map[string]types.AttributeValue) error {
		var page []T
		if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
			return err
		}
		out = append(out, page...)
		return nil
	})
	return out, err
}
