package splits

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
)

func TestDecodeSplit(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		code  string // "" = ok
		field string // field named in a 422
		check func(t *testing.T, d SplitDraft)
	}{
		{name: "qualy-shaped percentage-on-amount with the amount it expects",
			body: `{"type":"percentage-on-amount","currency":"aud","amount":3000,"percentage":0.3,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1","due_at":"2024-08-20T17:39:31.219Z","tax":"tax_1"}`,
			check: func(t *testing.T, d SplitDraft) {
				if d.Split.Percentage.String() != "0.3" || d.SentAmount == nil || *d.SentAmount != 3000 || d.Split.Currency != "AUD" {
					t.Fatalf("%+v", d)
				}
				if !d.Split.DueAt.Equal(time.Date(2024, 8, 20, 17, 39, 31, 219e6, time.UTC)) {
					t.Fatalf("due_at %v", d.Split.DueAt)
				}
			}},
		{name: "percentage parsed exactly, not through float64",
			body: `{"type":"percentage-on-amount","percentage":0.1000000000000000055511151231257827,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "percentage"},
		{name: "percentage with trailing zeros is fine",
			body: `{"type":"percentage-on-amount","percentage":0.30000000000000000000,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			check: func(t *testing.T, d SplitDraft) {
				if d.Split.Percentage.String() != "0.3" {
					t.Fatalf("percentage %s", d.Split.Percentage)
				}
			}},
		{name: "percentage as a numeric string", body: `{"type":"percentage-on-splits","percentage":"0.125","split":"sp_1","partnership":"ps_1","payment_intent":"pi_1"}`,
			check: func(t *testing.T, d SplitDraft) {
				if d.Split.Percentage.String() != "0.125" || d.Split.Item != "" {
					t.Fatalf("%+v", d.Split)
				}
			}},
		{name: "fixed", body: `{"type":"fixed","amount":52500,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			check: func(t *testing.T, d SplitDraft) {
				if d.Split.Amount != 52500 || d.SentAmount != nil {
					t.Fatalf("%+v", d)
				}
			}},
		{name: "keep-percentage may omit the partnership", body: `{"type":"keep-percentage","keep":1,"item":"itm_1","payment_intent":"pi_1"}`},
		{name: "self refused with the reason", body: `{"type":"self","item":"itm_1","partnership":"ps_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "type"},
		{name: "supplier refused with the reason", body: `{"type":"supplier","item":"itm_1","partnership":"ps_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "type"},
		{name: "unknown type", body: `{"type":"bonus","payment_intent":"pi_1"}`, code: apperr.Unprocessable, field: "type"},
		{name: "percentage above 1", body: `{"type":"percentage-on-amount","percentage":30,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "percentage"},
		{name: "zero percentage", body: `{"type":"percentage-on-amount","percentage":0,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "percentage"},
		{name: "percentage missing", body: `{"type":"percentage-on-amount","partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "percentage"},
		{name: "keep on a fixed split", body: `{"type":"fixed","amount":1,"keep":0.3,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "keep"},
		{name: "percentage on keep-percentage", body: `{"type":"keep-percentage","keep":0.3,"percentage":0.3,"item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "percentage"},
		{name: "split reference on fixed is kept for reporting", body: `{"type":"fixed","amount":1,"split":"sp_1","partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			check: func(t *testing.T, d SplitDraft) {
				if d.Split.Split != "sp_1" {
					t.Errorf("split = %q, want the reference kept", d.Split.Split)
				}
			}},
		{name: "bad split reference on fixed", body: `{"type":"fixed","amount":1,"split":"sp 1","partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "split"},
		{name: "fractional minor units", body: `{"type":"fixed","amount":525.5,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "amount"},
		{name: "amount as a string", body: `{"type":"fixed","amount":"52500","partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "amount"},
		{name: "negative amount", body: `{"type":"fixed","amount":-1,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "amount"},
		{name: "huge amount", body: `{"type":"fixed","amount":1e300,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "amount"},
		{name: "bad currency", body: `{"type":"fixed","amount":1,"currency":"EURO","partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "currency"},
		{name: "bad due_at", body: `{"type":"fixed","amount":1,"due_at":"tomorrow","partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "due_at"},
		{name: "wrong JSON type", body: `{"type":"fixed","amount":1,"partnership":7,"item":"itm_1","payment_intent":"pi_1"}`,
			code: apperr.Unprocessable, field: "partnership"},
		{name: "missing intent", body: `{"type":"fixed","amount":1,"partnership":"ps_1","item":"itm_1"}`,
			code: apperr.Unprocessable, field: "payment_intent"},
		{name: "unknown field", body: `{"type":"fixed","amount":1,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1","bonus":1}`, code: apperr.Invalid},
		{name: "not an object", body: `[1]`, code: apperr.Invalid},
		{name: "trailing data", body: `{"type":"fixed"} {}`, code: apperr.Invalid},
		{name: "empty", body: ``, code: apperr.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DecodeSplit([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				if tc.check != nil {
					tc.check(t, d)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if tc.field != "" && e.Fields[tc.field] == "" {
				t.Fatalf("fields %v do not name %q", e.Fields, tc.field)
			}
		})
	}
}

func TestDecodeSplitPatch(t *testing.T) {
	cur := Split{ID: "sp_1", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.3"), Partnership: "ps_1",
		Item: "itm_1", PaymentIntent: "pi_1", Amount: 3000, Status: SplitPending}
	t.Run("change percentage keeps the rest", func(t *testing.T) {
		d, err := DecodeSplitPatch([]byte(`{"percentage":0.4}`), cur)
		if err != nil {
			t.Fatal(err)
		}
		if d.Split.Percentage.String() != "0.4" || d.Split.Partnership != "ps_1" || d.Split.ID != "sp_1" || d.SentAmount != nil {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("change type to fixed drops the percentage", func(t *testing.T) {
		d, err := DecodeSplitPatch([]byte(`{"type":"fixed","amount":500}`), cur)
		if err != nil {
			t.Fatal(err)
		}
		if d.Split.Type != Fixed || d.Split.Percentage != nil || d.Split.Amount != 500 {
			t.Fatalf("%+v", d.Split)
		}
	})
	t.Run("moving to another intent is refused", func(t *testing.T) {
		_, err := DecodeSplitPatch([]byte(`{"payment_intent":"pi_2"}`), cur)
		if !apperr.Is(err, apperr.Unprocessable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("null clears a required field", func(t *testing.T) {
		_, err := DecodeSplitPatch([]byte(`{"partnership":null}`), cur)
		if e, _ := apperr.As(err); e == nil || e.Fields["partnership"] == "" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestDecodeIntentTaxPartnership(t *testing.T) {
	in, err := DecodeIntent([]byte(`{"contact":"ct_1","currency":"aud","due_at":"2024-08-20","supplier":"ps_school",
		"items":[{"name":"Tuition","amount":120000},{"name":"Enrolment","amount":20000},{"name":"Commission","category":"fees","amount":10000}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Currency != "AUD" || in.Amount() != 150000 || len(in.Items) != 3 || in.Supplier != "ps_school" || in.DueAt.Day() != 20 {
		t.Fatalf("%+v", in)
	}
	_, err = DecodeIntent([]byte(`{"currency":"EUR","items":[{"name":"x","amount":0},{"amount":1}]}`))
	if e, _ := apperr.As(err); e == nil || e.Fields["items[0].amount"] == "" || e.Fields["items[1].name"] == "" {
		t.Fatalf("err = %v", err)
	}
	tax, err := DecodeTax([]byte(`{"name":"GST","country":"au","tax_type":"gst","inclusive":true,"percentage":0.1}`))
	if err != nil || tax.Country != "AU" || !tax.Inclusive || tax.Percentage.String() != "0.1" {
		t.Fatalf("%+v %v", tax, err)
	}
	if _, err := DecodeTax([]byte(`{"name":"GST","tax_type":"gst","percentage":10}`)); !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("10 is not a fraction: %v", err)
	}
	if _, err := DecodePartnership([]byte(`{"name":"School","stripe_account_id":"cus_123"}`)); !apperr.Is(err, apperr.Unprocessable) {
		t.Fatalf("err = %v", err)
	}
	b, _ := json.Marshal(tax)
	if !strings.Contains(string(b), `"percentage":0.1`) {
		t.Fatalf("percentage must encode as a JSON number: %s", b)
	}
}

func TestPlan(t *testing.T) {
	taxes := map[string]Tax{
		"tax_old": {ID: "tax_old", Percentage: *frac(t, "0.1"), ArchivedAt: &time.Time{}},
		"tax_new": {ID: "tax_new", Percentage: *frac(t, "0.1")},
	}
	in := Intent{ID: "pi_1", Currency: "EUR", Contact: "ct_1", Items: []Item{{ID: "itm_1", Amount: 150000}}}
	school := Split{ID: "sp_1", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.65"), Partnership: "ps_school", Item: "itm_1", PaymentIntent: "pi_1", Tax: "tax_old"}
	draft := func(body string) SplitDraft {
		d, err := DecodeSplit([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		d.Split.ID = "sp_9"
		return d
	}
	for _, tc := range []struct {
		name   string
		in     Intent
		body   string
		code   string
		amount int64
	}{
		{"fits, defaults from the intent", in, `{"type":"fixed","amount":52500,"partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, "", 52500},
		{"sent amount matches", in, `{"type":"percentage-on-amount","percentage":0.35,"amount":52500,"partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, "", 52500},
		{"sent amount differs", in, `{"type":"percentage-on-amount","percentage":0.35,"amount":50000,"partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, apperr.Unprocessable, 0},
		{"over-allocation", in, `{"type":"fixed","amount":52501,"partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, apperr.Unprocessable, 0},
		{"wrong currency", in, `{"type":"fixed","amount":1,"currency":"USD","partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, apperr.Unprocessable, 0},
		{"archived tax on a new split", in, `{"type":"fixed","amount":1,"tax":"tax_old","partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, apperr.Unprocessable, 0},
		{"unknown tax", in, `{"type":"fixed","amount":1,"tax":"tax_zzz","partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, apperr.NotFound, 0},
		{"unknown item", in, `{"type":"fixed","amount":1,"partnership":"ps_a","item":"itm_9","payment_intent":"pi_1"}`, apperr.NotFound, 0},
		{"split on a split takes its item", in, `{"type":"percentage-on-splits","percentage":0.1,"split":"sp_1","partnership":"ps_a","payment_intent":"pi_1"}`, "", 9750},
		{"split on another intent's split", in, `{"type":"percentage-on-splits","percentage":0.1,"split":"sp_other","partnership":"ps_a","payment_intent":"pi_1"}`, apperr.Unprocessable, 0},
		{"paid intent", Intent{ID: "pi_1", Currency: "EUR", Received: 150000, Items: in.Items}, `{"type":"fixed","amount":1,"partnership":"ps_a","item":"itm_1","payment_intent":"pi_1"}`, apperr.Conflict, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, b, err := Plan(tc.in, []Split{school}, draft(tc.body), nil, taxes)
			if tc.code != "" {
				if !apperr.Is(err, tc.code) {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Amount != tc.amount || s.Currency != "EUR" || s.Contact != "ct_1" || s.Item != "itm_1" {
				t.Fatalf("%+v", s)
			}
			if b.Items[0].Amount != 150000 {
				t.Fatalf("%+v", b)
			}
		})
	}
	t.Run("an archived tax already on the split may stay", func(t *testing.T) {
		d, err := DecodeSplitPatch([]byte(`{"percentage":0.6}`), school)
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := Plan(in, []Split{school}, d, &school, taxes)
		if err != nil || s.Amount != 90000 {
			t.Fatalf("%+v %v", s, err)
		}
	})
	t.Run("delete of a referenced split", func(t *testing.T) {
		on := Split{ID: "sp_2", Type: PercentageOnSplits, Split: "sp_1"}
		if err := CheckDelete(in, []Split{school, on}, "sp_1"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("err = %v", err)
		}
		if err := CheckDelete(in, []Split{school, on}, "sp_2"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPayable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		received int64
		shares   []Share
		want     []int64
	}{
		{"half of EUR 1500.00 split 65/35", 75000, []Share{{Amount: 97500}, {Amount: 52500}}, []int64{48750, 26250}},
		{"the rest once fully paid", 150000, []Share{{Amount: 97500, Paid: 48750}, {Amount: 52500, Paid: 26250}}, []int64{48750, 26250}},
		{"overpayment pays no more than entitlements", 999999, []Share{{Amount: 97500}, {Amount: 52500}}, []int64{97500, 52500}},
		{"a third of a cent-odd split", 1, []Share{{Amount: 1}, {Amount: 1}, {Amount: 1}}, []int64{1, 0, 0}},
		{"second cent goes to the next", 2, []Share{{Amount: 1, Paid: 1}, {Amount: 1}, {Amount: 1}}, []int64{0, 1, 0}},
		{"refund after payouts: nothing more", 10, []Share{{Amount: 100, Paid: 20}}, []int64{0}},
		{"nothing received", 0, []Share{{Amount: 100}}, []int64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Payable(tc.received, tc.shares)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := Payable(10, []Share{{Amount: 5, Paid: 6}}); err == nil {
		t.Fatal("paid beyond amount must be an error")
	}
}

func TestIntentStatus(t *testing.T) {
	due := time.Date(2024, 8, 20, 0, 0, 0, 0, time.UTC)
	items := []Item{{ID: "itm_1", Amount: 100}}
	for _, tc := range []struct {
		name string
		in   Intent
		now  time.Time
		want IntentStatus
	}{
		{"due", Intent{Items: items, DueAt: &due}, due.Add(-time.Hour), IntentDue},
		{"overdue", Intent{Items: items, DueAt: &due}, due.Add(time.Hour), IntentOverdue},
		{"partial", Intent{Items: items, DueAt: &due, Received: 40}, due.Add(time.Hour), IntentPaidPartial},
		{"paid", Intent{Items: items, Received: 100}, due, IntentPaid},
		{"canceled", Intent{Items: items, Received: 100, CanceledAt: &due}, due, IntentCanceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.StatusAt(tc.now); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// FuzzDecodeSplit: any body either decodes to a split that satisfies the
// per-type rules or is refused with a 400/422, never a panic or another error.
func FuzzDecodeSplit(f *testing.F) {
	for _, s := range []string{
		`{"type":"percentage-on-amount","currency":"AUD","amount":3000,"percentage":0.3,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
		`{"type":"percentage-on-splits","percentage":"0.125","split":"sp_1","partnership":"ps_1","payment_intent":"pi_1"}`,
		`{"type":"keep-percentage","keep":1,"item":"itm_1","payment_intent":"pi_1","due_at":"2024-08-20"}`,
		`{"type":"fixed","amount":1e2,"partnership":"ps_1","item":"itm_1","payment_intent":"pi_1"}`,
		`{"type":"self"}`, `{"percentage":1e-99999999}`, `{"amount":-0}`, `[]`, `{"a":1}`,
	} {
		f.Add([]byte(s))
	}
	in := Intent{ID: "pi_1", Currency: "AUD", Items: []Item{{ID: "itm_1", Amount: 150000}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeSplit(body)
		if err != nil {
			if c := apperr.CodeOf(err); c != apperr.Invalid && c != apperr.Unprocessable {
				t.Fatalf("code %s for %q", c, body)
			}
			return
		}
		s := d.Split
		if !s.Type.creatable() || s.PaymentIntent == "" {
			t.Fatalf("accepted %+v", s)
		}
		for _, f := range []*Fraction{s.Percentage, s.Keep} {
			if f != nil && (f.Decimal().IsNegative() || f.Decimal().GreaterThan(oneDec) || -f.Decimal().Exponent() > MaxFractionDigits) {
				t.Fatalf("fraction out of range: %s", f)
			}
		}
		if s.Amount < 0 || s.Amount > MaxAmount || (s.Type == Fixed && s.Amount == 0) {
			t.Fatalf("amount %d", s.Amount)
		}
		// Whatever decodes can be planned without a panic, and a patch round trip keeps it.
		d.Split.ID = "sp_f"
		_, _, _ = Plan(in, nil, d, nil, map[string]Tax{})
		back, err := DecodeSplitPatch([]byte(`{}`), s)
		if err != nil || back.Split.Type != s.Type || back.Split.Amount != s.Amount && s.Type == Fixed {
			t.Fatalf("round trip %+v → %+v (%v)", s, back.Split, err)
		}
	})
}
