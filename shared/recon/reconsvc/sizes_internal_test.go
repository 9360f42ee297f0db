package reconsvc

import (
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// TestItemSizeBounds builds every item type reconciliation and itemisation
// write with each text field at its bound, and checks the stored size
// (store.ItemSize) against the ceiling docs/sizes.md states.
func TestItemSizeBounds(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	id := long(maxIDLen + 40) // longer than allowed: the writers clip
	line := recon.EntryLine{Account: long(100), Debit: 1 << 60, PayoutID: id, SourceID: id, PaymentID: id, InvoiceID: id, BankTransactionID: id, Memo: long(1000)}
	entry := recon.Entry{Kind: recon.EntryReversal, Date: recon.DateFromTime(time.Now()), Currency: "USD", PayoutID: id, Memo: long(1000), Reverses: recon.EntryPayments}
	for i := 0; i < 3*journalChunkLines; i++ {
		entry.Lines = append(entry.Lines, line)
	}
	ids := make([]string, 3*invoiceChunkIDs)
	for i := range ids {
		ids[i] = id
	}
	head := Match{PartnerID: long(40), CompanyID: long(40), ID: long(40), Kind: recon.KindManual, Rule: long(40), BankTransactionIDs: []string{id, id},
		Currency: "USD", Date: "2026-11-27", Status: MatchReversed, CreatedBy: "reconcile", CreatedAt: time.Now(), ReversedAt: &time.Time{}}
	for i := 0; i < MaxMatchPayouts; i++ {
		head.PayoutIDs = append(head.PayoutIDs, id)
	}
	head.PK, head.SK = store.CompanyPK(head.PartnerID, head.CompanyID), skMatch+head.ID
	item := payouts.Item{PayoutID: id, SourceID: id, Type: payouts.ItemApplicationFee, Currency: "USD", Description: long(5000), PaymentID: id, InvoiceID: id}
	item.Clip()

	jp, err := journalPuts(long(40), long(40), long(40), 9999, []recon.Entry{entry})
	if err != nil {
		t.Fatal(err)
	}
	ip, _, err := invoicePuts(long(40), long(40), long(40), ids)
	if err != nil {
		t.Fatal(err)
	}
	hp, err := store.PutRequest(head)
	if err != nil {
		t.Fatal(err)
	}
	ipr, err := store.PutRequest(struct {
		store.Keys
		PartnerID string `dynamodbav:"partner_id"`
		CompanyID string `dynamodbav:"company_id"`
		payouts.Item
	}{store.Keys{PK: long(90), SK: "PAYOUTITEM#" + id + "#000000"}, long(40), long(40), item})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		size  int
		bound int
	}{
		{"journal chunk (JE#)", store.ItemSize(jp[0].PutRequest.Item), 96 << 10},
		{"invoice chunk (MATCHINV#)", store.ItemSize(ip[0].PutRequest.Item), 64 << 10},
		{"match header (MATCH#)", store.ItemSize(hp.PutRequest.Item), 16 << 10},
		{"payout item (PAYOUTITEM#)", store.ItemSize(ipr.PutRequest.Item), payouts.MaxItemBytes},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Logf("largest possible: %d bytes (bound %d)", c.size, c.bound)
			if c.size > c.bound || c.size > store.MaxItemBytes {
				t.Fatalf("%d bytes, over the %d bound", c.size, c.bound)
			}
		})
	}
	if len(jp) != 3 || len(ip) != 3 {
		t.Fatalf("chunks: %d journal, %d invoice", len(jp), len(ip))
	}
}

// TestMaxMatchPayoutsFitsTheTransaction: a match's transaction (header, event,
// 2 lines, one update per payout) never exceeds the table's action limit.
func TestMaxMatchPayoutsFitsTheTransaction(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxTransact int
		want        int
	}{
		{"AWS, 100 actions", 0, MaxMatchPayouts},
		{"DynamoDB Local, 10 actions", store.MaxTransactLocal, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{Store: &store.Store{MaxTransact: tc.maxTransact}}
			if got := s.maxMatchPayouts(); got != tc.want || got+4 > s.Store.TxLimit() {
				t.Fatalf("max %d payouts on a %d-action table, want %d", got, s.Store.TxLimit(), tc.want)
			}
		})
	}
}
