package splits

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/apperr"
)

func frac(t testing.TB, s string) *Fraction {
	t.Helper()
	f, err := ParseFraction(s)
	if err != nil {
		t.Fatalf("fraction %q: %v", s, err)
	}
	return &f
}

func intent(cur, supplier string, amounts ...int64) Intent {
	in := Intent{ID: "pi_1", Currency: cur, Supplier: supplier}
	for i, a := range amounts {
		in.Items = append(in.Items, Item{ID: "itm_" + string(rune('a'+i)), Name: "item " + string(rune('a'+i)), Amount: a})
	}
	return in
}

// part is the expected amount of one part of an item: by split ID, or "self"/"supplier".
type want map[string]int64

func partsOf(ib ItemBreakdown) want {
	got := want{}
	for _, p := range ib.Parts {
		key := p.Split
		if key == "" {
			key = string(p.Type)
		}
		got[key] += p.Amount
	}
	return got
}

func TestComputeWorkedExamples(t *testing.T) {
	taxes := map[string]Tax{
		"tax_gst":  {ID: "tax_gst", Name: "GST", TaxType: "gst", Percentage: *frac(t, "0.1")},
		"tax_gsti": {ID: "tax_gsti", Name: "GST incl.", TaxType: "gst", Inclusive: true, Percentage: *frac(t, "0.1")},
	}
	tests := []struct {
		name     string
		in       Intent
		splits   []Split
		items    []want // per item
		kept     map[string]int64
		taxTotal map[string]int64 // per split
		payees   map[string]int64
		// tax totals on the total: the tenant's, per payee, the intent's (0: not checked)
		selfTaxTotal, intentTaxSum int64
		payeeTax                   map[string]int64
	}{
		{
			name: "0.3 of a 10000 item is 3000",
			in:   intent("AUD", "", 10000),
			splits: []Split{
				{ID: "sp_1", Type: PercentageOnAmount, Currency: "AUD", Percentage: frac(t, "0.3"), Partnership: "ps_agent", Item: "itm_a"},
			},
			items: []want{{"sp_1": 3000, "self": 7000}},
		},
		{
			name: "EUR 1500.00 split 65% / 35%",
			in:   intent("EUR", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.65"), Partnership: "ps_school", Item: "itm_a"},
				{ID: "sp_2", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.35"), Partnership: "ps_agent", Item: "itm_a"},
			},
			items:  []want{{"sp_1": 97500, "sp_2": 52500, "self": 0}},
			payees: map[string]int64{"ps_school": 97500, "ps_agent": 52500},
		},
		{
			name: "EUR 1500.00 with 65% and 525.00 fixed",
			in:   intent("EUR", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.65"), Partnership: "ps_school", Item: "itm_a"},
				{ID: "sp_2", Type: Fixed, Currency: "EUR", Amount: 52500, Partnership: "ps_agent", Item: "itm_a"},
			},
			items: []want{{"sp_1": 97500, "sp_2": 52500, "self": 0}},
		},
		{
			name: "EUR 1500.00 with 65% to the school, tenant keeps 525.00",
			in:   intent("EUR", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.65"), Partnership: "ps_school", Item: "itm_a"},
			},
			items: []want{{"sp_1": 97500, "self": 52500}},
		},
		{
			name: "AUD 1500.00 paid to a supplier, tenant keeps the 100.00 commission item",
			in:   intent("AUD", "ps_school", 120000, 20000, 10000),
			splits: []Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "AUD", Keep: frac(t, "1"), Item: "itm_c"},
			},
			items: []want{
				{"supplier": 120000, "self": 0},
				{"supplier": 20000, "self": 0},
				{"sp_1": 0, "self": 10000},
			},
			kept:   map[string]int64{"sp_1": 10000},
			payees: map[string]int64{"ps_school": 140000},
		},
		{
			name: "AUD 1500.00 without supplier: tuition and enrolment fixed to the school",
			in:   intent("AUD", "", 120000, 20000, 10000),
			splits: []Split{
				{ID: "sp_1", Type: Fixed, Currency: "AUD", Amount: 120000, Partnership: "ps_school", Item: "itm_a"},
				{ID: "sp_2", Type: PercentageOnAmount, Currency: "AUD", Percentage: frac(t, "1"), Partnership: "ps_school", Item: "itm_b"},
			},
			items:  []want{{"sp_1": 120000, "self": 0}, {"sp_2": 20000, "self": 0}, {"self": 10000}},
			payees: map[string]int64{"ps_school": 140000},
		},
		{
			name: "EUR 2000.00: 1500.00 to a school and 500.00 to a second partnership",
			in:   intent("EUR", "", 200000),
			splits: []Split{
				{ID: "sp_1", Type: Fixed, Currency: "EUR", Amount: 150000, Partnership: "ps_school", Item: "itm_a"},
				{ID: "sp_2", Type: Fixed, Currency: "EUR", Amount: 50000, Partnership: "ps_other", Item: "itm_a"},
			},
			items:  []want{{"sp_1": 150000, "sp_2": 50000, "self": 0}},
			payees: map[string]int64{"ps_school": 150000, "ps_other": 50000},
		},
		{
			name: "EUR 2000.00: the supplier school receives what is left after 500.00",
			in:   intent("EUR", "ps_school", 200000),
			splits: []Split{
				{ID: "sp_1", Type: Fixed, Currency: "EUR", Amount: 50000, Partnership: "ps_other", Item: "itm_a"},
			},
			items:  []want{{"sp_1": 50000, "supplier": 150000, "self": 0}},
			payees: map[string]int64{"ps_school": 150000, "ps_other": 50000},
		},
		{
			name: "USD 1500.00 with a 30% keep: 450.00 kept, 1050.00 to the school, GST on the kept part",
			in:   intent("USD", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "USD", Keep: frac(t, "0.3"), Partnership: "ps_school", Item: "itm_a", Tax: "tax_gst"},
			},
			items:    []want{{"sp_1": 105000, "self": 45000}},
			kept:     map[string]int64{"sp_1": 45000},
			taxTotal: map[string]int64{"sp_1": 4500},
			payees:   map[string]int64{"ps_school": 105000},
		},
		{
			name: "USD 1500.00 with a 30% keep and inclusive GST: 450.00 − 450.00/1.1",
			in:   intent("USD", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "USD", Keep: frac(t, "0.3"), Partnership: "ps_school", Item: "itm_a", Tax: "tax_gsti"},
			},
			items:    []want{{"sp_1": 105000, "self": 45000}},
			taxTotal: map[string]int64{"sp_1": 4091}, // 4090.909… rounds up
		},
		{
			name: "percentage-on-splits of a keep-percentage split reduces what the tenant keeps",
			in:   intent("USD", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "USD", Keep: frac(t, "0.3"), Partnership: "ps_school", Item: "itm_a"},
				{ID: "sp_2", Type: PercentageOnSplits, Currency: "USD", Percentage: frac(t, "0.1"), Split: "sp_1", Partnership: "ps_subagent", Item: "itm_a", Tax: "tax_gst"},
			},
			items:    []want{{"sp_1": 105000, "sp_2": 4500, "self": 40500}},
			kept:     map[string]int64{"sp_1": 45000},
			taxTotal: map[string]int64{"sp_2": 450},
			payees:   map[string]int64{"ps_school": 105000, "ps_subagent": 4500},
		},
		{
			name: "three-level chain on a keep split: every level is funded from the tenant's kept share",
			in:   intent("USD", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "USD", Keep: frac(t, "0.3"), Partnership: "ps_school", Item: "itm_a"},
				{ID: "sp_2", Type: PercentageOnSplits, Currency: "USD", Percentage: frac(t, "0.1"), Split: "sp_1", Partnership: "ps_subagent", Item: "itm_a"},
				{ID: "sp_3", Type: PercentageOnSplits, Currency: "USD", Percentage: frac(t, "0.5"), Split: "sp_2", Partnership: "ps_subsub", Item: "itm_a"},
				{ID: "sp_4", Type: PercentageOnSplits, Currency: "USD", Percentage: frac(t, "0.2"), Split: "sp_3", Partnership: "ps_subsubsub", Item: "itm_a"},
			},
			// kept 450.00 = 45.00 + 22.50 + 4.50 + self 378.00; the school keeps its 1050.00
			items:  []want{{"sp_1": 105000, "sp_2": 4500, "sp_3": 2250, "sp_4": 450, "self": 37800}},
			kept:   map[string]int64{"sp_1": 45000},
			payees: map[string]int64{"ps_school": 105000, "ps_subagent": 4500, "ps_subsub": 2250, "ps_subsubsub": 450},
		},
		{
			name:         "tax on the total: 3 × 10.05 at 10 % exclusive is 3.02, not 3 × 1.01",
			in:           func() Intent { in := intent("AUD", "", 1005, 1005, 1005); in.Tax = "tax_gst"; return in }(),
			items:        []want{{"self": 1005}, {"self": 1005}, {"self": 1005}},
			selfTaxTotal: 302,
		},
		{
			name: "tax on the total per payee: three 10.05 commissions to one agent at 10 % give 3.02",
			in:   intent("AUD", "", 1005, 1005, 1005),
			splits: []Split{
				{ID: "sp_1", Type: Fixed, Currency: "AUD", Amount: 1005, Partnership: "ps_agent", Item: "itm_a", Tax: "tax_gst"},
				{ID: "sp_2", Type: Fixed, Currency: "AUD", Amount: 1005, Partnership: "ps_agent", Item: "itm_b", Tax: "tax_gst"},
				{ID: "sp_3", Type: Fixed, Currency: "AUD", Amount: 1005, Partnership: "ps_agent", Item: "itm_c", Tax: "tax_gst"},
			},
			items:        []want{{"sp_1": 1005}, {"sp_2": 1005}, {"sp_3": 1005}},
			taxTotal:     map[string]int64{"sp_1": 101, "sp_2": 101, "sp_3": 101}, // each split on its own total
			payeeTax:     map[string]int64{"ps_agent": 302},
			payees:       map[string]int64{"ps_agent": 3015},
			intentTaxSum: 302,
		},
		{
			name: "percentage-on-splits of a regular split comes out of the remainder",
			in:   intent("EUR", "", 150000),
			splits: []Split{
				{ID: "sp_1", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.35"), Partnership: "ps_agent", Item: "itm_a"},
				{ID: "sp_2", Type: PercentageOnSplits, Currency: "EUR", Percentage: frac(t, "0.5"), Split: "sp_1", Partnership: "ps_subagent", Item: "itm_a"},
			},
			items: []want{{"sp_1": 52500, "sp_2": 26250, "self": 71250}},
		},
		{
			name: "keep with other splits and a supplier: the supplier gets what is left",
			in:   intent("USD", "ps_school", 150000),
			splits: []Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "USD", Keep: frac(t, "0.3"), Item: "itm_a"},
				{ID: "sp_2", Type: Fixed, Currency: "USD", Amount: 5000, Partnership: "ps_insurer", Item: "itm_a"},
			},
			items:  []want{{"sp_1": 100000, "sp_2": 5000, "self": 45000}},
			payees: map[string]int64{"ps_school": 100000, "ps_insurer": 5000},
		},
		{
			name: "thirds: largest remainder gives the odd cent to the first split",
			in:   intent("EUR", "", 100),
			splits: []Split{
				{ID: "sp_1", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.333333333333"), Partnership: "ps_a", Item: "itm_a"},
				{ID: "sp_2", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.333333333333"), Partnership: "ps_b", Item: "itm_a"},
				{ID: "sp_3", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.333333333333"), Partnership: "ps_c", Item: "itm_a"},
			},
			items: []want{{"sp_1": 34, "sp_2": 33, "sp_3": 33, "self": 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Compute(tc.in, tc.splits, taxes)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Items) != len(tc.items) {
				t.Fatalf("%d items, want %d", len(b.Items), len(tc.items))
			}
			for i, w := range tc.items {
				got := partsOf(b.Items[i])
				for k, v := range w {
					if got[k] != v {
						t.Errorf("item %d part %s = %d, want %d (all: %v)", i, k, got[k], v, got)
					}
				}
				var sum int64
				for _, p := range b.Items[i].Parts {
					sum += p.Amount
				}
				if sum != b.Items[i].Amount {
					t.Errorf("item %d parts sum to %d, item is %d", i, sum, b.Items[i].Amount)
				}
			}
			for id, k := range tc.kept {
				p, _ := b.Part(id)
				if p.Kept == nil || *p.Kept != k {
					t.Errorf("kept of %s = %v, want %d", id, p.Kept, k)
				}
			}
			for id, tt := range tc.taxTotal {
				p, _ := b.Part(id)
				if p.TaxTotal != tt {
					t.Errorf("tax_total of %s = %d, want %d", id, p.TaxTotal, tt)
				}
			}
			if tc.selfTaxTotal != 0 && (b.SelfTaxTotal != tc.selfTaxTotal || b.TaxTotal != tc.selfTaxTotal) {
				t.Errorf("self_tax_total %d, tax_total %d, want %d", b.SelfTaxTotal, b.TaxTotal, tc.selfTaxTotal)
			}
			if tc.intentTaxSum != 0 && b.TaxTotal != tc.intentTaxSum {
				t.Errorf("tax_total %d, want %d", b.TaxTotal, tc.intentTaxSum)
			}
			for _, p := range b.Payees {
				if want, ok := tc.payeeTax[p.Partnership]; ok && p.TaxTotal != want {
					t.Errorf("payee %s tax_total %d, want %d", p.Partnership, p.TaxTotal, want)
				}
			}
			if tc.payees != nil {
				got := map[string]int64{}
				for _, p := range b.Payees {
					got[p.Partnership] = p.Amount
				}
				if len(got) != len(tc.payees) {
					t.Errorf("payees %v, want %v", got, tc.payees)
				}
				for k, v := range tc.payees {
					if got[k] != v {
						t.Errorf("payee %s = %d, want %d", k, got[k], v)
					}
				}
			}
		})
	}
}

func TestComputeRefuses(t *testing.T) {
	taxes := map[string]Tax{}
	poa := func(id, p, item string) Split {
		return Split{ID: id, Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, p), Partnership: "ps_a", Item: item}
	}
	pos := func(id, p, ref string) Split {
		return Split{ID: id, Type: PercentageOnSplits, Currency: "EUR", Percentage: frac(t, p), Split: ref, Partnership: "ps_a", Item: "itm_a"}
	}
	tests := []struct {
		name   string
		in     Intent
		splits []Split
		field  string
		msg    string
	}{
		{"over-allocation names the shortfall", intent("EUR", "", 150000),
			[]Split{poa("sp_1", "0.65", "itm_a"), {ID: "sp_2", Type: Fixed, Currency: "EUR", Amount: 55000, Partnership: "ps_b", Item: "itm_a"}},
			"amount", "exceed its amount of 1500.00 EUR by 25.00 EUR"},
		{"shortfall rounds up to a whole cent", intent("EUR", "", 100),
			[]Split{poa("sp_1", "0.995", "itm_a"), {ID: "sp_2", Type: Fixed, Currency: "EUR", Amount: 1, Partnership: "ps_b", Item: "itm_a"}},
			"amount", "by 0.01 EUR"},
		{"wrong currency", intent("EUR", "", 100),
			[]Split{{ID: "sp_1", Type: Fixed, Currency: "USD", Amount: 10, Partnership: "ps_a", Item: "itm_a"}},
			"currency", "must use its intent's currency"},
		{"cycle", intent("EUR", "", 100),
			[]Split{pos("sp_1", "0.1", "sp_2"), pos("sp_2", "0.1", "sp_1")},
			"split", "cycle: sp_1 → sp_2 → sp_1"},
		{"self reference", intent("EUR", "", 100),
			[]Split{pos("sp_1", "0.1", "sp_1")},
			"split", "cycle"},
		{"depth bound", intent("EUR", "", 100),
			[]Split{poa("sp_0", "0.5", "itm_a"), pos("sp_1", "0.5", "sp_0"), pos("sp_2", "0.5", "sp_1"), pos("sp_3", "0.5", "sp_2"),
				pos("sp_4", "0.5", "sp_3"), pos("sp_5", "0.5", "sp_4"), pos("sp_6", "0.5", "sp_5")},
			"split", "at most 5 deep"},
		{"reference outside the intent", intent("EUR", "", 100),
			[]Split{pos("sp_1", "0.1", "sp_elsewhere")},
			"split", "not a split of payment intent"},
		{"unknown item", intent("EUR", "", 100),
			[]Split{poa("sp_1", "0.1", "itm_zzz")},
			"item", "not an item of payment intent"},
		{"two keeps on one item", intent("EUR", "", 100),
			[]Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "EUR", Keep: frac(t, "0.1"), Partnership: "ps_a", Item: "itm_a"},
				{ID: "sp_2", Type: KeepPercentage, Currency: "EUR", Keep: frac(t, "0.2"), Partnership: "ps_b", Item: "itm_a"},
			}, "type", "at most one"},
		{"splits on the keep exceed the kept share", intent("EUR", "", 10000),
			[]Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "EUR", Keep: frac(t, "0.3"), Partnership: "ps_a", Item: "itm_a"},
				pos("sp_2", "0.7", "sp_1"), pos("sp_3", "0.4", "sp_1"),
			}, "percentage", "exceed the tenant's kept share on item \"itm_a\" by 3.00 EUR"},
		{"split on a keep of another item", intent("EUR", "", 100, 100),
			[]Split{
				{ID: "sp_1", Type: KeepPercentage, Currency: "EUR", Keep: frac(t, "0.3"), Partnership: "ps_a", Item: "itm_b"},
				pos("sp_2", "0.5", "sp_1"),
			}, "item", "use the same item"},
		{"keep without partnership and without supplier", intent("EUR", "", 100),
			[]Split{{ID: "sp_1", Type: KeepPercentage, Currency: "EUR", Keep: frac(t, "0.3"), Item: "itm_a"}},
			"partnership", "needs a partnership"},
		{"self is computed", intent("EUR", "", 100),
			[]Split{{ID: "sp_1", Type: Self, Currency: "EUR", Partnership: "ps_a", Item: "itm_a"}},
			"type", "computed by the system"},
		{"unknown tax", intent("EUR", "", 100),
			[]Split{{ID: "sp_1", Type: Fixed, Currency: "EUR", Amount: 1, Partnership: "ps_a", Item: "itm_a", Tax: "tax_x"}},
			"tax", "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compute(tc.in, tc.splits, taxes)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Unprocessable {
				t.Fatalf("err = %v, want 422", err)
			}
			if e.Fields[tc.field] == "" || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("err = %q fields %v, want field %q and %q", e.Message, e.Fields, tc.field, tc.msg)
			}
		})
	}
}

func TestTaxOn(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base      int64
		rate      string
		inclusive bool
		want      int64
	}{
		{"exclusive 10%", 45000, "0.1", false, 4500},
		{"inclusive 10%", 110000, "0.1", true, 10000},
		{"inclusive rounds half up", 45000, "0.1", true, 4091},
		{"exclusive rounds half up", 5, "0.1", false, 1}, // 0.5 → 1
		{"exclusive rounds down below half", 4, "0.1", false, 0},
		{"VAT 20% inclusive", 12000, "0.2", true, 2000},
		{"zero base", 0, "0.2", true, 0},
		{"zero rate", 1000, "0", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TaxOn(tc.base, Tax{Inclusive: tc.inclusive, Percentage: *frac(t, tc.rate)})
			if got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestComputeChainAtDepthBound(t *testing.T) {
	splits := []Split{{ID: "sp_0", Type: PercentageOnAmount, Currency: "EUR", Percentage: frac(t, "0.5"), Partnership: "ps_a", Item: "itm_a"}}
	for i := 1; i <= MaxChainDepth; i++ {
		splits = append(splits, Split{ID: "sp_" + string(rune('0'+i)), Type: PercentageOnSplits, Currency: "EUR",
			Percentage: frac(t, "0.5"), Split: "sp_" + string(rune('0'+i-1)), Partnership: "ps_a", Item: "itm_a"})
	}
	b, err := Compute(intent("EUR", "", 6400), splits, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 3200, 1600, 800, 400, 200, 100 and the tenant keeps the rest.
	if got := partsOf(b.Items[0]); got["sp_5"] != 100 || got["self"] != 6400-6300 {
		t.Fatalf("%v", got)
	}
}

func BenchmarkCompute(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	in := Intent{ID: "pi_b", Currency: "EUR"}
	for i := range 20 {
		in.Items = append(in.Items, Item{ID: fmt.Sprintf("itm_%02d", i), Amount: 1_000_000 + r.Int64N(1_000_000)})
	}
	var splits []Split
	for i := range MaxSplitsPerIntent {
		it := in.Items[i%len(in.Items)]
		s := Split{ID: fmt.Sprintf("sp_%03d", i), Currency: "EUR", Item: it.ID, Partnership: "ps_x"}
		switch {
		case i < 20:
			f, _ := ParseFraction("0.3")
			s.Type, s.Keep = KeepPercentage, &f
		case i < 100:
			f, _ := ParseFraction("0.0125")
			s.Type, s.Percentage = PercentageOnAmount, &f
		default:
			f, _ := ParseFraction("0.05")
			s.Type, s.Percentage, s.Split = PercentageOnSplits, &f, fmt.Sprintf("sp_%03d", i%20)
		}
		splits = append(splits, s)
	}
	if _, err := Compute(in, splits, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(in, splits, nil); err != nil {
			b.Fatal(err)
		}
	}
}
