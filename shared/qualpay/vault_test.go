package qualpay_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// TestVaultLifecycle walks every vault endpoint in the order a user would,
// against the spec-validating fake (any contract violation fails the test).
func TestVaultLifecycle(t *testing.T) {
	fk, cl, _ := setup(t)
	ctx := context.Background()
	visa := token(t, fk, "4111 1111 1111 1111", "1228")
	mc := token(t, fk, "5555555555554444", "0327")
	var c qualpay.Customer
	var err error
	var shipA, shipB int64

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"create with names only", func(t *testing.T) {
			c, err = cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: "JOHNDOE1", FirstName: "John", LastName: "Doe"})
			if err != nil || c.CustomerID != "JOHNDOE1" || c.NodeID != mid {
				t.Fatalf("create = %+v, %v", c, err)
			}
		}},
		{"get", func(t *testing.T) {
			c, err = cl.GetCustomer(ctx, mid, "JOHNDOE1")
			if err != nil || c.FirstName != "John" || c.LastName != "Doe" {
				t.Fatalf("get = %+v, %v", c, err)
			}
		}},
		{"add email later", func(t *testing.T) {
			c, err = cl.UpdateCustomer(ctx, mid, "JOHNDOE1", qualpay.CustomerUpdate{Email: ptr("john@example.com")})
			if err != nil || c.Email != "john@example.com" || c.FirstName != "John" {
				t.Fatalf("update = %+v, %v", c, err)
			}
		}},
		{"first card becomes primary", func(t *testing.T) {
			c, err = cl.AddCard(ctx, mid, "JOHNDOE1", card(visa))
			if err != nil || len(c.BillingCards) != 1 || primaryCard(c) != visa {
				t.Fatalf("add card = %+v, %v", c, err)
			}
			if got := c.BillingCards[0].CardNumber; got != "411111xxxxxx1111" || c.PrimaryCardNumber != got {
				t.Fatalf("masked = %q / %q", got, c.PrimaryCardNumber)
			}
		}},
		{"second card is not primary", func(t *testing.T) {
			c, err = cl.AddCard(ctx, mid, "JOHNDOE1", card(mc))
			if err != nil || len(c.BillingCards) != 2 || primaryCard(c) != visa {
				t.Fatalf("add card 2 = %+v, %v", c, err)
			}
		}},
		{"switch primary card", func(t *testing.T) {
			c, err = cl.SetPrimaryCard(ctx, mid, "JOHNDOE1", mc)
			if err != nil || primaryCard(c) != mc {
				t.Fatalf("set primary = %+v, %v", c, err)
			}
		}},
		{"list cards", func(t *testing.T) {
			cards, err := cl.ListCards(ctx, mid, "JOHNDOE1")
			if err != nil || len(cards) != 2 || cards[1].CardType != "MC" {
				t.Fatalf("cards = %+v, %v", cards, err)
			}
		}},
		{"update card expiry and billing", func(t *testing.T) {
			in := card(visa)
			in.ExpDate, in.BillingCity = "0130", "San Mateo"
			c, err = cl.UpdateCard(ctx, mid, "JOHNDOE1", in)
			if err != nil || c.BillingCards[0].ExpDate != "0130" || c.BillingCards[0].BillingCity != "San Mateo" {
				t.Fatalf("update card = %+v, %v", c, err)
			}
		}},
		{"add two shipping addresses", func(t *testing.T) {
			c, err = cl.AddShippingAddress(ctx, mid, "JOHNDOE1", ship("John", "San Mateo"))
			if err != nil || len(c.ShippingAddresses) != 1 || !c.ShippingAddresses[0].Primary {
				t.Fatalf("add ship = %+v, %v", c, err)
			}
			shipA = c.ShippingAddresses[0].ShippingID
			c, err = cl.AddShippingAddress(ctx, mid, "JOHNDOE1", ship("Jane", "Oakland"))
			if err != nil || len(c.ShippingAddresses) != 2 || primaryShip(c) != shipA {
				t.Fatalf("add ship 2 = %+v, %v", c, err)
			}
			shipB = c.ShippingAddresses[1].ShippingID
		}},
		{"update and set primary shipping address", func(t *testing.T) {
			in := ship("Jane", "Berkeley")
			c, err = cl.UpdateShippingAddress(ctx, mid, "JOHNDOE1", shipB, in)
			if err != nil || c.ShippingAddresses[1].City != "Berkeley" {
				t.Fatalf("update ship = %+v, %v", c, err)
			}
			c, err = cl.SetPrimaryShippingAddress(ctx, mid, "JOHNDOE1", shipB)
			if err != nil || primaryShip(c) != shipB {
				t.Fatalf("primary ship = %+v, %v", c, err)
			}
		}},
		{"delete primary shipping address promotes the other", func(t *testing.T) {
			c, err = cl.DeleteShippingAddress(ctx, mid, "JOHNDOE1", shipB)
			if err != nil || len(c.ShippingAddresses) != 1 || primaryShip(c) != shipA {
				t.Fatalf("delete ship = %+v, %v", c, err)
			}
			list, err := cl.ListShippingAddresses(ctx, mid, "JOHNDOE1")
			if err != nil || len(list) != 1 || list[0].ShippingID != shipA {
				t.Fatalf("list ship = %+v, %v", list, err)
			}
		}},
		{"delete a card", func(t *testing.T) {
			c, err = cl.DeleteCard(ctx, mid, "JOHNDOE1", visa)
			if err != nil || len(c.BillingCards) != 1 || primaryCard(c) != mc {
				t.Fatalf("delete card = %+v, %v", c, err)
			}
		}},
		{"delete customer", func(t *testing.T) {
			if err := cl.DeleteCustomer(ctx, mid, "JOHNDOE1"); err != nil {
				t.Fatal(err)
			}
			_, err := cl.GetCustomer(ctx, mid, "JOHNDOE1")
			wantCode(t, err, apperr.NotFound)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
	if v := fk.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
}

func TestVaultRules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		run      func(t *testing.T, h *harness) error
		wantCode string
		wantMsg  string
		sent     bool // whether the request may reach Qualpay
	}{
		{name: "invalid customer_id refused before sending", wantCode: apperr.Unprocessable, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: "has-dash", FirstName: "A", LastName: "B"})
			return err
		}},
		{name: "customer_id over 32 characters", wantCode: apperr.Unprocessable, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.GetCustomer(ctx, mid, strings.Repeat("A", 33))
			return err
		}},
		{name: "names are required", wantCode: apperr.Unprocessable, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: "X1"})
			return err
		}},
		{name: "duplicate customer_id is a conflict", wantCode: apperr.Conflict, wantMsg: "already exists", sent: true, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: "JOHNDOE1", FirstName: "J", LastName: "D"})
			return err
		}},
		{name: "unknown customer is not found", wantCode: apperr.NotFound, sent: true, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.GetCustomer(ctx, mid, "NOBODY")
			return err
		}},
		{name: "customers are per merchant", wantCode: apperr.NotFound, sent: true, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.GetCustomer(ctx, otherMID, "JOHNDOE1")
			return err
		}},
		{name: "unknown card token is unprocessable", wantCode: apperr.Unprocessable, sent: true, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.AddCard(ctx, mid, "JOHNDOE1", card("0123456789abcdef0123456789abcdef"))
			return err
		}},
		{name: "unknown card is not found", wantCode: apperr.NotFound, sent: true, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.SetPrimaryCard(ctx, mid, "JOHNDOE1", "0123456789abcdef0123456789abcdef")
			return err
		}},
		{name: "card missing billing zip", wantCode: apperr.Unprocessable, run: func(t *testing.T, h *harness) error {
			_, err := h.cl.AddCard(ctx, mid, "JOHNDOE1", qualpay.CardInput{CardID: h.visa})
			return err
		}},
		{name: "deleting a card used by a subscription is a conflict", wantCode: apperr.Conflict, wantMsg: "subscription", sent: true, run: func(t *testing.T, h *harness) error {
			if _, err := h.fk.AddSubscription(mid, qualpay.Subscription{CustomerID: "JOHNDOE1", CardID: h.visa}); err != nil {
				t.Fatal(err)
			}
			_, err := h.cl.DeleteCard(ctx, mid, "JOHNDOE1", h.visa)
			return err
		}},
		{name: "replacing cards cannot drop one a subscription uses", wantCode: apperr.Conflict, sent: true, run: func(t *testing.T, h *harness) error {
			if _, err := h.fk.AddSubscription(mid, qualpay.Subscription{CustomerID: "JOHNDOE1", CardID: h.visa}); err != nil {
				t.Fatal(err)
			}
			_, err := h.cl.UpdateCustomer(ctx, mid, "JOHNDOE1", qualpay.CustomerUpdate{BillingCards: &[]qualpay.CardInput{}})
			return err
		}},
		{name: "a cancelled subscription does not block deletion", sent: true, run: func(t *testing.T, h *harness) error {
			id, err := h.fk.AddSubscription(mid, qualpay.Subscription{CustomerID: "JOHNDOE1", CardID: h.visa, Status: qualpay.SubCancelled})
			if err != nil {
				t.Fatal(err)
			}
			_ = id
			c, err := h.cl.DeleteCard(ctx, mid, "JOHNDOE1", h.visa)
			if err == nil && len(c.BillingCards) != 0 {
				t.Fatalf("cards left: %+v", c.BillingCards)
			}
			return err
		}},
		{name: "PUT replaces array fields", sent: true, run: func(t *testing.T, h *harness) error {
			mc := token(t, h.fk, "5555555555554444", "0327")
			if _, err := h.cl.AddCard(ctx, mid, "JOHNDOE1", card(mc)); err != nil {
				t.Fatal(err)
			}
			if _, err := h.cl.AddShippingAddress(ctx, mid, "JOHNDOE1", ship("A", "X")); err != nil {
				t.Fatal(err)
			}
			c, err := h.cl.UpdateCustomer(ctx, mid, "JOHNDOE1", qualpay.CustomerUpdate{
				BillingCards:      &[]qualpay.CardInput{card(mc)},
				ShippingAddresses: &[]qualpay.ShippingAddressInput{ship("B", "Y"), ship("C", "Z")},
			})
			if err != nil {
				return err
			}
			if len(c.BillingCards) != 1 || c.BillingCards[0].CardID != mc || primaryCard(c) != mc {
				t.Errorf("cards after replace = %+v", c.BillingCards)
			}
			if len(c.ShippingAddresses) != 2 || c.ShippingAddresses[0].FirstName != "B" || primaryShip(c) != c.ShippingAddresses[0].ShippingID {
				t.Errorf("addresses after replace = %+v", c.ShippingAddresses)
			}
			return nil
		}},
		{name: "nil arrays are left alone", sent: true, run: func(t *testing.T, h *harness) error {
			c, err := h.cl.UpdateCustomer(ctx, mid, "JOHNDOE1", qualpay.CustomerUpdate{Phone: ptr("555-0100")})
			if err == nil && (len(c.BillingCards) != 1 || c.Phone != "555-0100") {
				t.Errorf("customer = %+v", c)
			}
			return err
		}},
		{name: "deleting a customer deletes its subscriptions", sent: true, run: func(t *testing.T, h *harness) error {
			if _, err := h.fk.AddSubscription(mid, qualpay.Subscription{CustomerID: "JOHNDOE1"}); err != nil {
				t.Fatal(err)
			}
			subs, err := h.cl.CustomerSubscriptions(ctx, mid, "JOHNDOE1")
			if err != nil || len(subs) != 1 || !subs[0].Live() {
				t.Fatalf("subs = %+v, %v", subs, err)
			}
			if err := h.cl.DeleteCustomer(ctx, mid, "JOHNDOE1"); err != nil {
				return err
			}
			if left := h.fk.Subscriptions(mid); len(left) != 0 {
				t.Errorf("subscriptions left: %+v", left)
			}
			return nil
		}},
		{name: "auto-generated customer_id", sent: true, run: func(t *testing.T, h *harness) error {
			c, err := h.cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{FirstName: "Ann", LastName: "Lee"})
			if err == nil && !qualpay.ValidCustomerID(c.CustomerID) {
				t.Errorf("generated id %q", c.CustomerID)
			}
			return err
		}},
		{name: "account updater changes show on read", sent: true, run: func(t *testing.T, h *harness) error {
			if err := h.fk.AccountUpdate(mid, "JOHNDOE1", h.visa, "0931", ""); err != nil {
				t.Fatal(err)
			}
			cards, err := h.cl.ListCards(ctx, mid, "JOHNDOE1")
			if err == nil && cards[0].ExpDate != "0931" {
				t.Errorf("exp = %s", cards[0].ExpDate)
			}
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.fk.ResetRequests()
			err := tc.run(t, h)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else {
				ae := wantCode(t, err, tc.wantCode)
				if tc.wantMsg != "" && !strings.Contains(ae.Message, tc.wantMsg) {
					t.Errorf("message %q lacks %q", ae.Message, tc.wantMsg)
				}
			}
			if n := len(h.fk.Requests()); !tc.sent && n != 0 {
				t.Errorf("%d requests reached Qualpay; want none", n)
			}
		})
	}
}

type harness struct {
	fk   *qualpayfake.Server
	cl   *qualpay.Client
	visa string
}

// newHarness: a fake with customer JOHNDOE1 holding one Visa card.
func newHarness(t *testing.T) *harness {
	t.Helper()
	fk, cl, _ := setup(t)
	h := &harness{fk: fk, cl: cl}
	h.visa = token(t, fk, "4111111111111111", "1228")
	if _, err := cl.CreateCustomer(context.Background(), mid, qualpay.CustomerInput{CustomerID: "JOHNDOE1", FirstName: "John", LastName: "Doe",
		BillingCards: []qualpay.CardInput{card(h.visa)}}); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestListCustomersPagingAndFilters(t *testing.T) {
	fk, cl, _ := setup(t)
	ctx := context.Background()
	for i := range 25 {
		last := "Smith"
		if i%5 == 0 {
			last = "Jones"
		}
		if _, err := cl.CreateCustomer(ctx, mid, qualpay.CustomerInput{CustomerID: fmt.Sprintf("C%03d", i), FirstName: "F", LastName: last,
			Email: fmt.Sprintf("c%d@example.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		p         qualpay.ListParams
		wantIDs   []string
		wantPages int
		wantTotal int
	}{
		{"first page ascending", qualpay.ListParams{Count: 3, OrderOn: "customer_id", OrderBy: "asc"}, []string{"C000", "C001", "C002"}, 9, 25},
		{"last page", qualpay.ListParams{Count: 10, Page: 2, OrderOn: "customer_id", OrderBy: "asc"}, []string{"C020", "C021", "C022", "C023", "C024"}, 3, 25},
		{"default order is customer_id desc", qualpay.ListParams{Count: 2}, []string{"C024", "C023"}, 13, 25},
		{"filter by last name", qualpay.ListParams{OrderBy: "asc", Filters: []qualpay.Filter{qualpay.Eq("customer_last_name", "Jones")}},
			[]string{"C000", "C005", "C010", "C015", "C020"}, 1, 5},
		{"filter by email fragment", qualpay.ListParams{Filters: []qualpay.Filter{qualpay.Like("customer_email", "C7@")}}, []string{"C007"}, 1, 1},
		{"page past the end", qualpay.ListParams{Count: 100, Page: 1}, nil, 1, 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pg, err := cl.ListCustomers(ctx, mid, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range pg.Customers {
				ids = append(ids, c.CustomerID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.wantIDs) || pg.TotalPages != tc.wantPages || pg.TotalRecords != tc.wantTotal {
				t.Fatalf("got %v pages=%d total=%d, want %v pages=%d total=%d", ids, pg.TotalPages, pg.TotalRecords, tc.wantIDs, tc.wantPages, tc.wantTotal)
			}
		})
	}
	t.Run("bad params refused locally", func(t *testing.T) {
		fk.ResetRequests()
		for _, p := range []qualpay.ListParams{{Count: 101}, {Page: -1}, {OrderBy: "sideways"}, {Filters: []qualpay.Filter{{Field: "x", Op: "ZZ", Values: []string{"1"}}}}} {
			if _, err := cl.ListCustomers(ctx, mid, p); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%+v: err = %v", p, err)
			}
		}
		if n := len(fk.Requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
}

func TestMerchantSettings(t *testing.T) {
	_, cl, _ := setup(t)
	tests := []struct {
		name     string
		merchant int64
		wantDBA  string
		wantCode string
	}{
		{"reachable", mid, "Demo Bakery", ""},
		{"unknown merchant", 999999, "", apperr.NotFound},
		{"invalid id", 0, "", apperr.Unprocessable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := cl.MerchantSettings(context.Background(), tc.merchant)
			if tc.wantCode != "" {
				wantCode(t, err, tc.wantCode)
				return
			}
			if err != nil || m.DBAName != tc.wantDBA || m.MerchantID != tc.merchant {
				t.Fatalf("settings = %+v, %v", m, err)
			}
		})
	}
}
