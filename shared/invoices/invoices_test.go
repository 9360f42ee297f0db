package invoices_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/local/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func body(ext, number string, amount int64) map[string]any {
	return map[string]any{"external_id": ext, "number": number, "customer": "Cafe", "amount": amount, "currency": "usd",
		"issued_at": "2026-11-01", "due_at": "2026-11-30T00:00:00Z"}
}

func TestInvoicesAPI(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	pid, key := env.Partner("Acme")
	_, keyB := env.Partner("Other")
	co, _, err := env.Companies.Create(ctx, pid, "c1", "Bakery")
	if err != nil {
		t.Fatal(err)
	}
	srv := env.Server("payments")
	base := srv.URL + "/v1/companies/" + co.ID + "/invoices"

	res := testenv.Do(t, "POST", base, key, body("ext-1", "INV-1", 100000))
	if res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var inv invoices.Invoice
	res.JSON(t, &inv)
	if inv.Status != "open" || inv.Currency != "USD" || inv.DueAt != "2026-11-30" || !strings.HasPrefix(inv.ID, "inv_") {
		t.Fatalf("invoice %+v", inv)
	}
	t.Run("same request again is idempotent", func(t *testing.T) {
		res := testenv.Do(t, "POST", base, key, body("ext-1", "INV-1", 100000))
		var again invoices.Invoice
		res.JSON(t, &again)
		if res.Status != 200 || again.ID != inv.ID {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("conflicts", func(t *testing.T) {
		if res := testenv.Do(t, "POST", base, key, body("ext-1", "INV-1", 5)); res.Status != 409 {
			t.Fatalf("different details: %d", res.Status)
		}
		if res := testenv.Do(t, "POST", base, key, body("ext-2", "INV-1", 5)); res.Status != 409 {
			t.Fatalf("number reused: %d", res.Status)
		}
	})
	t.Run("bad input names fields", func(t *testing.T) {
		res := testenv.Do(t, "POST", base, key, map[string]any{"amount": -1, "currency": "usdx", "issued_at": "yesterday"})
		for _, f := range []string{"external_id", "amount", "currency", "issued_at"} {
			if res.Status != 422 || !strings.Contains(string(res.Body), `"`+f+`"`) {
				t.Fatalf("%s: %d %s", f, res.Status, res.Body)
			}
		}
		if res := testenv.Do(t, "POST", base, key, map[string]any{"amount": 10.5}); res.Status != 422 {
			t.Fatalf("fractional amount: %d %s", res.Status, res.Body)
		}
	})
	t.Run("get list filter void", func(t *testing.T) {
		testenv.Do(t, "POST", base, key, body("ext-3", "INV-3", 700))
		if res := testenv.Do(t, "GET", base+"/"+inv.ID, key, nil); res.Status != 200 {
			t.Fatalf("get: %d", res.Status)
		}
		if res := testenv.Do(t, "POST", base+"/"+inv.ID+"/void", key, nil); res.Status != 200 || !strings.Contains(string(res.Body), `"status":"void"`) {
			t.Fatalf("void: %d %s", res.Status, res.Body)
		}
		var page struct {
			Data       []invoices.Invoice
			NextCursor string `json:"next_cursor"`
		}
		testenv.Do(t, "GET", base+"?status=open", key, nil).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ExternalID != "ext-3" {
			t.Fatalf("open: %+v", page.Data)
		}
		testenv.Do(t, "GET", base+"?limit=1", key, nil).JSON(t, &page)
		if len(page.Data) != 1 || page.NextCursor == "" {
			t.Fatalf("page 1: %+v", page)
		}
		cur := page.NextCursor
		testenv.Do(t, "GET", base+"?limit=1&cursor="+cur, key, nil).JSON(t, &page)
		if len(page.Data) != 1 {
			t.Fatalf("page 2: %+v", page)
		}
		if res := testenv.Do(t, "GET", base+"?status=bogus", key, nil); res.Status != 422 {
			t.Fatalf("bad status filter: %d", res.Status)
		}
	})
	t.Run("tenant isolation", func(t *testing.T) {
		for _, c := range []struct{ m, u string }{{"GET", base}, {"GET", base + "/" + inv.ID}, {"POST", base}} {
			if res := testenv.Do(t, c.m, c.u, keyB, body("x", "", 1)); res.Status != 404 {
				t.Fatalf("%s %s as other partner: %d", c.m, c.u, res.Status)
			}
		}
	})
	t.Run("reconciled when its payments are matched, back on unmatch", func(t *testing.T) {
		st := stores.Invoices(env.Env)
		var page struct{ Data []invoices.Invoice }
		testenv.Do(t, "GET", base+"?status=open", key, nil).JSON(t, &page)
		inv, err := st.Get(ctx, pid, co.ID, page.Data[0].ID) // the stored invoice (the API hides the partner)
		if err != nil {
			t.Fatal(err)
		}
		pay := func(id string, amt int64) {
			tx, _, err := st.ApplyPayment(ctx, inv, invoices.Received{PaymentID: id, State: invoices.PaymentSucceeded, Amount: amt, Currency: inv.Currency})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.DB.Transact(ctx, tx); err != nil {
				t.Fatal(err)
			}
			inv, _ = st.Get(ctx, pid, co.ID, inv.ID)
		}
		pay("pi_a", inv.Amount/2)
		pay("pi_b", inv.Amount-inv.Amount/2)
		if inv.Status != invoices.StatusPaid {
			t.Fatalf("status %s", inv.Status)
		}
		matched := func(ids []string, m bool, want string) {
			t.Helper()
			var refs []invoices.PaymentRef
			for _, id := range ids {
				refs = append(refs, invoices.PaymentRef{InvoiceID: inv.ID, PaymentID: id})
			}
			if err := st.PaymentsMatched(ctx, pid, co.ID, refs, m); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.Get(ctx, pid, co.ID, inv.ID); got.Status != want {
				t.Fatalf("after %v matched=%v: %s, want %s", ids, m, got.Status, want)
			}
		}
		matched([]string{"pi_a"}, true, invoices.StatusPaid) // pi_b's payout not matched yet
		matched([]string{"pi_b"}, true, invoices.StatusReconciled)
		matched([]string{"pi_b"}, true, invoices.StatusReconciled) // idempotent
		matched([]string{"pi_a"}, false, invoices.StatusPaid)
		matched([]string{"pi_a"}, true, invoices.StatusReconciled)
	})
}

func TestCanAdvance(t *testing.T) {
	tests := []struct {
		from, to string
		ok       bool
	}{
		{"open", "processing", true}, {"open", "paid", true}, {"processing", "paid", true}, {"paid", "reconciled", true},
		{"paid", "processing", false}, {"reconciled", "paid", false}, {"open", "void", true}, {"paid", "void", false},
		{"void", "paid", false}, {"paid", "paid", false},
	}
	for _, tc := range tests {
		t.Run(tc.from+"->"+tc.to, func(t *testing.T) {
			if got := invoices.CanAdvance(tc.from, tc.to); got != tc.ok {
				t.Fatalf("got %v", got)
			}
		})
	}
}
