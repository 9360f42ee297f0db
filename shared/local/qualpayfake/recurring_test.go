package qualpayfake_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/local/qualpayfake"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// TestRecurringRules: the fake enforces Qualpay's documented subscription
// state rules and the client round-trips every call against the spec.
func TestRecurringRules(t *testing.T) {
	f, s, srv := newFake(t)
	cl, err := qualpay.New(qualpay.Config{BaseURL: srv.URL, SecurityKey: "fakekey123", MaxAttempts: 1, HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, _ := f.Tokenize("4111111111111111", "1228")
	if _, err := cl.CreateCustomer(ctx, 1001, qualpay.CustomerInput{CustomerID: "C1", FirstName: "A", LastName: "B"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.AddCard(ctx, 1001, "C1", qualpay.CardInput{CardID: tok, BillingDetails: qualpay.BillingDetails{BillingZip: "94402"}}); err != nil {
		t.Fatal(err)
	}
	amt, _ := qualpay.ParseNumber("19.99")
	if _, err := cl.AddPlan(ctx, 1001, qualpay.PlanInput{PlanCode: "P1", PlanName: "P", PlanDesc: "P", PlanFrequency: qualpay.FreqMonthly, PlanDuration: 3, AmtTran: amt}); err != nil {
		t.Fatal(err)
	}
	sub, err := cl.AddSubscription(ctx, 1001, qualpay.SubscriptionInput{CustomerID: "C1", PlanCode: "P1", DateStart: "2030-01-31"})
	if err != nil {
		t.Fatal(err)
	}
	if sub.CardID != tok || sub.DateEnd != "2030-03-31" || sub.Status != qualpay.SubActive {
		t.Fatalf("subscription %+v", sub)
	}
	for _, tc := range []struct {
		action, wantStatus string
		ok                 bool
	}{
		{qualpay.ActionResume, "", false}, // active: nothing to resume
		{qualpay.ActionPause, qualpay.SubPaused, true},
		{qualpay.ActionPause, "", false}, // only an active one pauses
		{qualpay.ActionResume, qualpay.SubActive, true},
		{qualpay.ActionCancel, qualpay.SubCancelled, true},
		{qualpay.ActionResume, "", false}, // cancelled is final
		{qualpay.ActionCancel, "", false},
	} {
		got, err := cl.ChangeSubscription(ctx, 1001, sub.SubscriptionID, "C1", tc.action)
		if tc.ok != (err == nil) || (tc.ok && got.Status != tc.wantStatus) {
			t.Fatalf("%s: %+v %v", tc.action, got, err)
		}
		if !tc.ok && !apperr.Is(err, apperr.Unprocessable) && !apperr.Is(err, apperr.Invalid) && !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("%s: refusal is %v", tc.action, err)
		}
	}
	if _, err := cl.AddSubscription(ctx, 1001, qualpay.SubscriptionInput{CustomerID: "C1", PlanCode: "NOPE", DateStart: "2030-01-31"}); err == nil {
		t.Fatal("a subscription to an unknown plan was accepted")
	}
	if _, err := f.RunAccountUpdater(1001, qualpayfake.AccountUpdaterResult{CustomerID: "C1", CardID: tok, NewExp: "0131"}); err != nil {
		t.Fatal(err)
	}
	rows, err := cl.AusDetailsAll(ctx, qualpay.ReportQuery{MerchantID: 1001})
	if err != nil || len(rows) != 1 || rows[0].ExpDateNew != "0131" || rows[0].ReasonCode != qualpay.AusExpiryUpdated {
		t.Fatalf("aus detail %+v %v", rows, err)
	}
	if c, _ := f.Customer(1001, "C1"); c.BillingCards[0].ExpDate != "0131" {
		t.Fatalf("Qualpay updates the card on file itself: %+v", c.BillingCards)
	}
	// Refusals are Qualpay's 400s (expected); anything else is a violation.
	for _, m := range s.take() {
		t.Errorf("violation: %s", m)
	}
}
