package reconsvc_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

// Every cell of the journal export is neutralised, IDs included: bank
// transaction, payout, payment and source IDs are outside text.
func TestJournalCSVNeutralisesEveryCell(t *testing.T) {
	hostile := "=HYPERLINK(\"http://x\")"
	e := reconsvc.JournalEntry{ID: "m1.1", MatchID: "m1", Entry: recon.Entry{Kind: "deposit", Currency: "USD", PayoutID: "+po",
		Memo: "@memo", Lines: []recon.EntryLine{{Account: "-Bank", Debit: 5, PayoutID: "\tpo_1", SourceID: "\rsrc",
			PaymentID: "-pay", InvoiceID: "@inv", BankTransactionID: hostile}}}}
	var buf bytes.Buffer
	if err := reconsvc.WriteJournalCSV(&buf, []reconsvc.JournalEntry{e}, false); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 1 {
		t.Fatalf("%v %v", rows, err)
	}
	for i, c := range rows[0] {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Errorf("cell %d = %q starts a formula", i, c)
		}
	}
	if got := rows[0][len(rows[0])-4]; got != "'"+hostile {
		t.Errorf("bank transaction id = %q", got)
	}
}
