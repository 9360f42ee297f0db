package invoices_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/ids"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// TestApplyUnreadEqualsReadPath: the hot path's unread write (ApplyUnread)
// leaves the invoice item exactly as the read path (Get, then ApplyPayment)
// leaves an identical invoice, attribute for attribute, whenever its guess
// holds; when it does not, its write is refused and changes nothing, and the
// read path applies as before.
func TestApplyUnreadEqualsReadPath(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pid, cid := env.Company()
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	s := &invoices.Store{DB: env.Store, IDs: ids.New(), Now: func() time.Time { return at }}
	succeeded := func(pi string, amount int64, cur string) invoices.Received {
		return invoices.Received{PaymentID: pi, ChargeID: "ch_" + pi, State: invoices.PaymentSucceeded, Amount: amount, Currency: cur}
	}
	ach := func(pi string, amount int64, state string) invoices.Received {
		return invoices.Received{PaymentID: pi, ChargeID: "py_" + pi, State: state, Amount: amount, Currency: "usd"}
	}
	tests := []struct {
		name     string
		prior    []invoices.Received // applied first (read path) to both invoices
		void     bool
		r        invoices.Received
		settling bool // guess GuessSettling instead of GuessUntouched
		guess    bool // the unread write applies
	}{
		{"card payment of the full amount", nil, false, succeeded("pi_a", 100000, "usd"), false, true},
		{"ACH payment in flight", nil, false, invoices.Received{PaymentID: "pi_b", State: invoices.PaymentProcessing, Amount: 100000, Currency: "USD"}, false, true},
		{"failed first attempt", nil, false, invoices.Received{PaymentID: "pi_c", State: invoices.PaymentFailed, Amount: 100000, Currency: "usd"}, false, true},
		{"partial payment", nil, false, succeeded("pi_d", 40000, "usd"), false, false},
		{"overpayment", nil, false, succeeded("pi_e", 150000, "usd"), false, false},
		{"another currency", nil, false, succeeded("pi_f", 100000, "eur"), false, false},
		{"second instalment", []invoices.Received{succeeded("pi_g1", 40000, "usd")}, false, succeeded("pi_g2", 100000, "usd"), false, false},
		{"ACH settling, guessed untouched", []invoices.Received{{PaymentID: "pi_h", State: invoices.PaymentProcessing, Amount: 100000, Currency: "usd"}}, false, succeeded("pi_h", 100000, "usd"), false, false},
		{"retry after a failure", []invoices.Received{{PaymentID: "pi_i", State: invoices.PaymentFailed, Amount: 100000, Currency: "usd"}}, false, succeeded("pi_i", 100000, "usd"), false, false},
		{"void invoice", nil, true, succeeded("pi_j", 100000, "usd"), false, false},
		{"ACH settling", []invoices.Received{ach("pi_k", 100000, invoices.PaymentProcessing)}, false, ach("pi_k", 100000, invoices.PaymentSucceeded), true, true},
		{"ACH settling, charge unknown at processing", []invoices.Received{{PaymentID: "pi_l", State: invoices.PaymentProcessing, Amount: 100000, Currency: "usd"}}, false, ach("pi_l", 100000, invoices.PaymentSucceeded), true, false},
		{"ACH settling for less", []invoices.Received{ach("pi_m", 100000, invoices.PaymentProcessing)}, false, ach("pi_m", 90000, invoices.PaymentSucceeded), true, false},
		{"ACH settling beside another payment", []invoices.Received{succeeded("pi_n0", 100, "usd"), ach("pi_n", 100000, invoices.PaymentProcessing)}, false, ach("pi_n", 100000, invoices.PaymentSucceeded), true, false},
		{"ACH settling after a failed attempt", []invoices.Received{ach("pi_o", 100000, invoices.PaymentFailed)}, false, ach("pi_o", 100000, invoices.PaymentSucceeded), true, false},
		{"settling guessed on an untouched invoice", nil, false, ach("pi_p", 100000, invoices.PaymentSucceeded), true, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pair [2]invoices.Invoice
			for k := range pair {
				inv, _, err := s.Create(ctx, pid, cid, invoices.Input{ExternalID: tc.name + string(rune('a'+k)), Amount: 100000, Currency: "usd"})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range tc.prior {
					apply(t, s, inv, r)
				}
				if tc.void {
					if _, err := s.Transition(ctx, pid, cid, inv.ID, invoices.StatusVoid); err != nil {
						t.Fatal(err)
					}
				}
				pair[k] = inv
			}
			before := item(t, env.Store, pair[1])
			guess := invoices.GuessUntouched
			if tc.settling {
				guess = invoices.GuessSettling
			}
			tx, ok, err := s.ApplyUnread(pid, cid, pair[1].ID, tc.r, guess)
			if err != nil || !ok {
				t.Fatalf("no unread write: %v", err)
			}
			err = env.Store.Transact(ctx, []types.TransactWriteItem{tx})
			if !tc.guess {
				if !errors.Is(err, store.ErrConditionFailed) {
					t.Fatalf("the guess does not hold, yet the write gave %v", err)
				}
				if after := item(t, env.Store, pair[1]); after != before {
					t.Fatalf("refused write changed the invoice:\n%s\n%s", before, after)
				}
				apply(t, s, pair[1], tc.r) // what commit does next: the read path
			} else if err != nil {
				t.Fatalf("unread write: %v", err)
			}
			apply(t, s, pair[0], tc.r)
			read, unread := item(t, env.Store, pair[0]), item(t, env.Store, pair[1])
			if read != unread {
				t.Fatalf("case %d: items differ\nread   %s\nunread %s", i, read, unread)
			}
			if tc.guess && tc.r.State == invoices.PaymentSucceeded && !strings.Contains(read, `"evt_type":"invoice.paid"`) {
				t.Fatalf("no invoice.paid marker: %s", read)
			}
		})
	}
}

// TestLegacyInvoiceWithoutLinks: an invoice item written before links lived
// in it (no pays map) is paid by the read path, which writes the map whole;
// the unread write is refused on it (its condition needs the map), not failed.
func TestLegacyInvoiceWithoutLinks(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pid, cid := env.Company()
	s := &invoices.Store{DB: env.Store, IDs: ids.New(), Now: time.Now}
	inv, _, err := s.Create(ctx, pid, cid, invoices.Input{ExternalID: "legacy", Amount: 100000, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(env.Store.Table),
		Key: store.Key(store.CompanyPK(pid, cid), invoices.SK(inv.ID)), UpdateExpression: aws.String("REMOVE pays")}); err != nil {
		t.Fatal(err)
	}
	r := invoices.Received{PaymentID: "pi_legacy", State: invoices.PaymentSucceeded, Amount: 100000, Currency: "usd"}
	tx, ok, err := s.ApplyUnread(pid, cid, inv.ID, r, invoices.GuessUntouched)
	if err != nil || !ok {
		t.Fatal(err)
	}
	if err := env.Store.Transact(ctx, []types.TransactWriteItem{tx}); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("unread write on an item without links: %v, want a refused condition", err)
	}
	apply(t, s, inv, r)
	got, err := s.Get(ctx, pid, cid, inv.ID)
	if err != nil || got.Status != invoices.StatusPaid || got.AmountPaid != 100000 || got.Pays["pi_legacy"].Counted != 100000 {
		t.Fatalf("legacy invoice after the read path: %+v %v", got, err)
	}
	apply(t, s, inv, invoices.Received{PaymentID: "pi_legacy2", State: invoices.PaymentSucceeded, Amount: 100, Currency: "usd"})
	if got, _ := s.Get(ctx, pid, cid, inv.ID); len(got.Pays) != 2 || got.AmountPaid != 100100 {
		t.Fatalf("second payment: %+v", got)
	}
}

// apply is the read path: the invoice read, then its one conditional write.
func apply(t *testing.T, s *invoices.Store, inv invoices.Invoice, r invoices.Received) {
	t.Helper()
	ctx := context.Background()
	inv, err := s.Get(ctx, inv.PartnerID, inv.CompanyID, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	txs, _, err := s.ApplyPayment(ctx, inv, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Transact(ctx, txs); err != nil {
		t.Fatal(err)
	}
}

// item is the stored invoice item as JSON (keys sorted), its own identity
// (ID, external ID, the marker's event ID) replaced by placeholders.
func item(t *testing.T, st *store.Store, inv invoices.Invoice) string {
	t.Helper()
	out, err := st.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(st.Table),
		Key: store.Key(store.CompanyPK(inv.PartnerID, inv.CompanyID), invoices.SK(inv.ID)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		t.Fatal(err)
	}
	m["sk"], m["id"], m["external_id"] = "<sk>", "<id>", "<ext>"
	if g, ok := m["gsi1pk"].(string); ok {
		if !strings.HasPrefix(g, outbox.PendingPrefix) || m["gsi1sk"] == nil {
			t.Fatalf("marker %v %v", g, m["gsi1sk"])
		}
		m["gsi1pk"], m["gsi1sk"] = "<pending>", "<evt>"
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
