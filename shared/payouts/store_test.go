package payouts_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/app/stores"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/payouts"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestStore(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	clock := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	s := stores.Payouts(env.Env)
	s.Now = func() time.Time { return clock }
	p := payouts.Payout{PartnerID: "ptr_a", CompanyID: "co_a", ID: "po_1", Provider: "stripe", AccountID: "acct_1",
		Amount: 1000, Currency: "USD", Status: payouts.StatusInTransit, ArrivalDate: "2026-11-21", ProviderUpdated: 100}

	t.Run("never regresses", func(t *testing.T) {
		if err := s.Upsert(ctx, p); err != nil {
			t.Fatal(err)
		}
		paid := p
		paid.Status, paid.ProviderUpdated = payouts.StatusPaid, 200
		if err := s.Upsert(ctx, paid); err != nil {
			t.Fatal(err)
		}
		for _, old := range []payouts.Payout{p, func() payouts.Payout { q := paid; q.ProviderUpdated = 150; return q }()} {
			if err := s.Upsert(ctx, old); !errors.Is(err, payouts.ErrStale) {
				t.Fatalf("older state applied: %v", err)
			}
		}
		got, err := s.Get(ctx, "ptr_a", "co_a", "po_1")
		if err != nil || got.Status != payouts.StatusPaid || got.ItemisationStatus != payouts.ItemisationPending {
			t.Fatalf("%+v %v", got, err)
		}
	})
	t.Run("itemisation complete, then shrinks", func(t *testing.T) {
		got, _ := s.Get(ctx, "ptr_a", "co_a", "po_1")
		items := []payouts.Item{{SourceID: "a", Type: "charge", Amount: 1100, Fee: 40, Net: 1060}, {SourceID: "b", Type: "climate", Amount: -60, Net: -60}}
		if st, err := s.SetItems(ctx, got, items); err != nil || st != payouts.ItemisationComplete {
			t.Fatalf("%s %v", st, err)
		}
		want := map[string]payouts.KindTotal{"charge": {Count: 1, Amount: 1100}, payouts.TotalsFees: {Count: 1, Amount: -40}, "climate": {Count: 1, Amount: -60}}
		if got, _ := s.Get(ctx, "ptr_a", "co_a", "po_1"); fmt.Sprint(got.Totals) != fmt.Sprint(want) {
			t.Fatalf("totals %+v", got.Totals)
		}
		if st, _ := s.SetItems(ctx, got, items[:1]); st != payouts.ItemisationIncomplete {
			t.Fatalf("short itemisation = %s", st)
		}
		if got, _ := s.Get(ctx, "ptr_a", "co_a", "po_1"); len(got.Totals) != 2 || got.Totals["charge"] != (payouts.KindTotal{Count: 1, Amount: 1100}) {
			t.Fatalf("totals of the shorter itemisation: %+v", got.Totals)
		}
		its, err := s.Items(ctx, "ptr_a", "co_a", "po_1")
		if err != nil || len(its) != 1 || its[0].Currency != "USD" || its[0].PayoutID != "po_1" {
			t.Fatalf("%+v %v", its, err)
		}
		// A later status update keeps the itemisation.
		failed := p
		failed.Status, failed.ProviderUpdated = payouts.StatusFailed, 300
		if err := s.Upsert(ctx, failed); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "ptr_a", "co_a", "po_1"); got.ItemCount != 1 || got.ItemisationStatus != payouts.ItemisationIncomplete {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("list paid since, and pages", func(t *testing.T) {
		for i, st := range []string{"paid", "paid", "pending"} {
			clock = clock.Add(time.Hour)
			q := p
			q.ID, q.Status = "po_l"+string(rune('a'+i)), st
			if err := s.Upsert(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.ListPaid(ctx, "ptr_a", "co_a", time.Date(2026, 11, 20, 11, 30, 0, 0, time.UTC))
		if err != nil || len(list) != 1 || list[0].ID != "po_lb" {
			t.Fatalf("%+v %v", list, err)
		}
		page, next, err := s.List(ctx, "ptr_a", "co_a", 2, "")
		if err != nil || len(page) != 2 || next == "" {
			t.Fatalf("%d %q %v", len(page), next, err)
		}
		page2, _, err := s.List(ctx, "ptr_a", "co_a", 2, next)
		if err != nil || len(page2) != 2 || page2[1].ID != "po_1" || page2[1].ItemCount != 1 {
			t.Fatalf("%+v %v", page2, err)
		}
		if other, _, _ := s.List(ctx, "ptr_b", "co_a", 10, ""); len(other) != 0 {
			t.Fatal("another partner sees payouts")
		}
	})
}
