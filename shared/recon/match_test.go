package recon

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/payouts"
)

// mon is Monday 2024-03-04; day(n) is n calendar days later.
var mon = DateOf(2024, 3, 4)

func day(n int) Date { return mon.AddDays(n) }

// po builds a paid, itemised Stripe payout arriving on day d.
func po(id string, amount int64, d int, opts ...func(*payouts.Payout)) payouts.Payout {
	p := payouts.Payout{ID: id, Provider: payouts.Stripe, AccountID: "acct_1", Amount: amount, Currency: "USD",
		Status: payouts.StatusPaid, ArrivalDate: day(d).String(), ItemisationStatus: payouts.ItemisationComplete}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// ln builds a posted USD line on day d with a text.
func ln(id string, amount int64, d int, text string, opts ...func(*BankLine)) BankLine {
	l := BankLine{ID: id, AccountID: "bank_1", Amount: amount, Currency: "USD", Date: day(d), Name: text}
	for _, o := range opts {
		o(&l)
	}
	return l
}

func acct(a, desc string) func(*payouts.Payout) {
	return func(p *payouts.Payout) { p.AccountID, p.Descriptor = a, desc }
}
func qualpay(p *payouts.Payout)             { p.Provider = payouts.Qualpay; p.AccountID = "qp_1" }
func status(s string) func(*payouts.Payout) { return func(p *payouts.Payout) { p.Status = s } }
func items(s string) func(*payouts.Payout) {
	return func(p *payouts.Payout) { p.ItemisationStatus = s }
}
func ref(r string) func(*payouts.Payout)      { return func(p *payouts.Payout) { p.Reference = r } }
func currency(c string) func(*payouts.Payout) { return func(p *payouts.Payout) { p.Currency = c } }
func lineCur(c string) func(*BankLine)        { return func(l *BankLine) { l.Currency = c } }
func pending(l *BankLine)                     { l.Pending = true }
func merchant(name string) func(*BankLine)    { return func(l *BankLine) { l.MerchantName = name } }
func dayOffsetHoliday(n int) Calendar         { return NewCalendar(day(n)) }
func joined(ss []string) string               { return strings.Join(ss, "+") }
func matchPairs(ms []Match) (out [][2]string) {
	for _, m := range ms {
		out = append(out, [2]string{joined(m.LineIDs), joined(m.PayoutIDs)})
	}
	return out
}

type exp struct {
	reason string
	lines  string // "+"-joined sorted IDs
	pays   string
}

func excs(es []Exception) (out []exp) {
	for _, e := range es {
		out = append(out, exp{e.Reason, joined(e.LineIDs), joined(e.PayoutIDs)})
	}
	return out
}

func TestMatchRules(t *testing.T) {
	late := day(30) // every window has passed
	tests := []struct {
		name    string
		lines   []BankLine
		pays    []payouts.Payout
		today   Date
		cfg     func(*Config)
		matched [][2]string
		exc     []exp
		waitL   []string
		waitP   []string
		rule    string
	}{
		{
			name:    "exact amount, same day, provider keyword",
			lines:   []BankLine{ln("l1", 389000, 0, "STRIPE TRANSFER")},
			pays:    []payouts.Payout{po("po_1", 389000, 0)},
			matched: [][2]string{{"l1", "po_1"}},
			rule:    "provider",
		},
		{
			name:  "currency must agree: EUR payout, USD bank only",
			lines: []BankLine{ln("l1", 10800, 1, "STRIPE ACME EU"), ln("l2", 5000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 10000, 0, currency("EUR"), acct("acct_eu", "ACME EU")), po("po_2", 5000, 0)},
			// The EUR payout can never match: no EUR bank account. The converted
			// USD line naming its account near its arrival is listed with it.
			matched: [][2]string{{"l2", "po_2"}},
			exc:     []exp{{ReasonCurrencyMismatch, "l1", "po_1"}},
		},
		{
			name:    "ISK: Stripe's two-decimal payout matches the bank's whole krónur",
			lines:   []BankLine{ln("l1", 38900, 0, "STRIPE TRANSFER", lineCur("ISK"))},
			pays:    []payouts.Payout{po("po_1", 3890000, 0, currency("ISK"))},
			matched: [][2]string{{"l1", "po_1"}},
			rule:    "provider",
		},
		{
			name:  "amount off by one cent is a mismatch, never a match",
			lines: []BankLine{ln("l1", 389001, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 389000, 0)},
			exc:   []exp{{ReasonAmountMismatch, "l1", "po_1"}},
		},
		{
			name:  "amount far off is not near: two separate exceptions",
			lines: []BankLine{ln("l1", 200000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 100000, 0)},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:    "window: 5 business days late matches (Mon -> next Mon)",
			lines:   []BankLine{ln("l1", 5000, 7, "STRIPE")},
			pays:    []payouts.Payout{po("po_1", 5000, 0)},
			matched: [][2]string{{"l1", "po_1"}},
		},
		{
			name:  "window: 6 business days late does not match",
			lines: []BankLine{ln("l1", 5000, 8, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 5000, 0)},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:    "window: 1 business day early matches (Fri for Mon)",
			lines:   []BankLine{ln("l1", 5000, -3, "STRIPE")},
			pays:    []payouts.Payout{po("po_1", 5000, 0)},
			matched: [][2]string{{"l1", "po_1"}},
		},
		{
			name:  "window: 2 business days early does not match",
			lines: []BankLine{ln("l1", 5000, -4, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 5000, 0)},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:    "weekend posting counts as the next business day",
			lines:   []BankLine{ln("l1", 5000, 5, "STRIPE")}, // Saturday
			pays:    []payouts.Payout{po("po_1", 5000, 4)},   // Friday
			cfg:     func(c *Config) { c.After = 1 },
			matched: [][2]string{{"l1", "po_1"}},
		},
		{
			name:    "bank holidays do not count",
			lines:   []BankLine{ln("l1", 5000, 8, "STRIPE")}, // Tuesday
			pays:    []payouts.Payout{po("po_1", 5000, 4)},   // Friday; Monday is a holiday
			cfg:     func(c *Config) { c.After = 1; c.Calendar = dayOffsetHoliday(7) },
			matched: [][2]string{{"l1", "po_1"}},
		},
		{
			name: "descriptor breaks a tie between two accounts",
			lines: []BankLine{
				ln("l1", 7000, 0, "STRIPE", merchant("ACME SHOP")),
				ln("l2", 7000, 0, "STRIPE", merchant("BETA CAFE")),
			},
			pays: []payouts.Payout{
				po("po_a", 7000, 0, acct("acct_a", "ACME SHOP")),
				po("po_b", 7000, 0, acct("acct_b", "BETA CAFE")),
			},
			matched: [][2]string{{"l1", "po_a"}, {"l2", "po_b"}},
			rule:    "descriptor",
		},
		{
			name: "provider keyword beats an unrelated deposit of the same amount",
			lines: []BankLine{
				ln("l1", 7000, 0, "STRIPE TRANSFER"),
				ln("l2", 7000, 0, "ACH CREDIT BIG CUSTOMER LLC"),
			},
			pays:    []payouts.Payout{po("po_1", 7000, 0)},
			matched: [][2]string{{"l1", "po_1"}},
		},
		{
			name:  "a line naming another provider is no candidate",
			lines: []BankLine{ln("l1", 7000, 0, "QUALPAY DEPOSIT")},
			pays:  []payouts.Payout{po("po_1", 7000, 0)},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:  "a check of the same amount is no candidate",
			lines: []BankLine{ln("l1", 7000, 0, "MOBILE CHECK DEPOSIT")},
			pays:  []payouts.Payout{po("po_1", 7000, 0)},
			exc:   []exp{{ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:  "a Plaid merchant naming someone else is no candidate",
			lines: []BankLine{ln("l1", 7000, 0, "ACH CREDIT", merchant("Acme Corp"))},
			pays:  []payouts.Payout{po("po_1", 7000, 0)},
			exc:   []exp{{ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:  "a line naming another account's descriptor is no candidate",
			lines: []BankLine{ln("l1", 7000, 0, "STRIPE TRANSFER ACME SHOP")},
			pays:  []payouts.Payout{po("po_a", 5000, 0, acct("acct_a", "ACME SHOP")), po("po_b", 7000, 0, acct("acct_b", "BETA CAFE"))},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_a"}, {ReasonUnmatchedPayout, "", "po_b"}},
		},
		{
			name: "descriptors sharing a first word are told apart",
			lines: []BankLine{
				ln("l1", 7000, 0, "QP STORE2 DEP"),
				ln("l2", 7000, 0, "QP STORE12"),
			},
			pays: []payouts.Payout{
				po("qp_1", 7000, 0, qualpay, acct("m2", "QP STORE2")),
				po("qp_2", 7000, 0, qualpay, acct("m12", "QP STORE12")),
			},
			matched: [][2]string{{"l1", "qp_1"}, {"l2", "qp_2"}},
			rule:    "descriptor",
		},
		{
			name:    "Qualpay ach_description as descriptor",
			lines:   []BankLine{ln("l1", 7000, 1, "ACH DEP", merchant("QP ACME 4410"))},
			pays:    []payouts.Payout{po("qp_1", 7000, 0, qualpay, acct("qp_4410", "QP ACME 4410"))},
			matched: [][2]string{{"l1", "qp_1"}},
			rule:    "descriptor",
		},
		{
			name: "reference beats descriptor",
			lines: []BankLine{
				ln("l1", 7000, 0, "STRIPE ACME SHOP"),
				ln("l2", 7000, 0, "STRIPE ACME SHOP TRACE 99123"),
			},
			pays: []payouts.Payout{
				po("po_1", 7000, 0, acct("acct_a", "ACME SHOP")),
				po("po_2", 7000, 0, acct("acct_a", "ACME SHOP"), ref("99123")),
			},
			matched: [][2]string{{"l2", "po_2"}, {"l1", "po_1"}},
		},
		{
			name:  "equal candidates are ambiguous, never guessed",
			lines: []BankLine{ln("l1", 7000, 0, "STRIPE"), ln("l2", 7000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 7000, 0), po("po_2", 7000, 0)},
			exc:   []exp{{ReasonAmbiguous, "l1+l2", "po_1+po_2"}},
		},
		{
			name:  "one line, two equal payouts: ambiguous",
			lines: []BankLine{ln("l1", 7000, 1, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 7000, 0), po("po_2", 7000, 1)},
			exc:   []exp{{ReasonAmbiguous, "l1", "po_1+po_2"}},
		},
		{
			name:    "equal amounts on consecutive days pair by exact date",
			lines:   []BankLine{ln("l1", 7000, 0, "STRIPE"), ln("l2", 7000, 1, "STRIPE")},
			pays:    []payouts.Payout{po("po_1", 7000, 0), po("po_2", 7000, 1)},
			matched: [][2]string{{"l1", "po_1"}, {"l2", "po_2"}},
			rule:    "exact_date",
		},
		{
			name:  "exact date refused when a delayed payout could be the partner",
			lines: []BankLine{ln("l1", 7000, 1, "STRIPE"), ln("l2", 7000, 2, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 7000, 0), po("po_2", 7000, 1)},
			exc:   []exp{{ReasonAmbiguous, "l1+l2", "po_1+po_2"}},
		},
		{
			name:    "batch: one deposit = two payouts of the same day",
			lines:   []BankLine{ln("l1", 15000, 1, "STRIPE")},
			pays:    []payouts.Payout{po("po_1", 10000, 0), po("po_2", 5000, 0), po("po_3", 2500, 0)},
			matched: [][2]string{{"l1", "po_1+po_2"}},
			exc:     []exp{{ReasonUnmatchedPayout, "", "po_3"}},
			rule:    "subset",
		},
		{
			name:  "batch with two solutions is ambiguous",
			lines: []BankLine{ln("l1", 15000, 1, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 10000, 0), po("po_2", 5000, 0), po("po_3", 7500, 0), po("po_4", 7500, 0)},
			exc:   []exp{{ReasonAmbiguous, "l1", "po_1+po_2+po_3+po_4"}},
		},
		{
			name:    "batch across days is not a batch",
			lines:   []BankLine{ln("l1", 15000, 1, "STRIPE")},
			pays:    []payouts.Payout{po("po_1", 10000, 0), po("po_2", 5000, 1)},
			exc:     []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_1"}, {ReasonUnmatchedPayout, "", "po_2"}},
			matched: nil,
		},
		{
			name:  "batch needs evidence on the line",
			lines: []BankLine{ln("l1", 15000, 1, "DEPOSIT")},
			pays:  []payouts.Payout{po("po_1", 10000, 0), po("po_2", 5000, 0)},
			exc:   []exp{{ReasonUnmatchedPayout, "", "po_1"}, {ReasonUnmatchedPayout, "", "po_2"}},
		},
		{
			name:    "negative payout matches a money-out line",
			lines:   []BankLine{ln("l1", -2500, 1, "STRIPE DEBIT")},
			pays:    []payouts.Payout{po("po_neg", -2500, 0)},
			matched: [][2]string{{"l1", "po_neg"}},
		},
		{
			name:  "negative payout never matches a deposit of the same size",
			lines: []BankLine{ln("l1", 2500, 1, "STRIPE")},
			pays:  []payouts.Payout{po("po_neg", -2500, 0)},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_neg"}},
		},
		{
			name:    "failed payout: deposit and bank return pair as returned",
			lines:   []BankLine{ln("l1", 9000, 0, "STRIPE"), ln("l2", -9000, 3, "STRIPE RETURN")},
			pays:    []payouts.Payout{po("po_f", 9000, 0, status(payouts.StatusFailed))},
			matched: [][2]string{{"l1+l2", "po_f"}},
			rule:    "returned",
		},
		{
			name: "failed payout without bank lines is not an exception",
			pays: []payouts.Payout{po("po_f", 9000, 0, status(payouts.StatusFailed))},
		},
		{
			name:  "failed payout deposit waits for its return",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_f", 9000, 0, status(payouts.StatusFailed))},
			today: day(9),
			waitL: []string{"l1"},
		},
		{
			name:  "failed payout deposit without return after the return window",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_f", 9000, 0, status(payouts.StatusFailed))},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}},
		},
		{
			name:  "in-transit payout: its deposit waits",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 9000, 0, status(payouts.StatusInTransit))},
			waitL: []string{"l1"}, waitP: []string{"po_1"},
		},
		{
			name:  "in-transit payout still competes: ambiguous",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 9000, 0), po("po_2", 9000, 0, status(payouts.StatusInTransit))},
			exc:   []exp{{ReasonAmbiguous, "l1", "po_1+po_2"}},
		},
		{
			name:  "itemisation incomplete: no match, an exception naming both",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 9000, 0, items(payouts.ItemisationIncomplete))},
			exc:   []exp{{ReasonItemisationIncomplete, "l1", "po_1"}},
		},
		{
			name:  "itemisation incomplete without a deposit",
			lines: nil,
			pays:  []payouts.Payout{po("po_1", 9000, 0, items(payouts.ItemisationIncomplete))},
			exc:   []exp{{ReasonItemisationIncomplete, "", "po_1"}, {ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:  "itemisation pending waits inside the window",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 9000, 0, items(payouts.ItemisationPending))},
			today: day(2),
			waitL: []string{"l1"}, waitP: []string{"po_1"},
		},
		{
			name:  "itemisation still pending after the window is an exception",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 9000, 0, items(payouts.ItemisationPending))},
			exc:   []exp{{ReasonItemisationIncomplete, "l1", "po_1"}},
		},
		{
			name:  "amount and date only: waits while the window is open",
			lines: []BankLine{ln("l1", 9000, 0, "DEPOSIT")},
			pays:  []payouts.Payout{po("po_1", 9000, 0)},
			today: day(3),
			waitL: []string{"l1"}, waitP: []string{"po_1"},
		},
		{
			name:    "amount and date only: matched once the window passed",
			lines:   []BankLine{ln("l1", 9000, 0, "DEPOSIT")},
			pays:    []payouts.Payout{po("po_1", 9000, 0)},
			matched: [][2]string{{"l1", "po_1"}},
			rule:    "amount_date",
		},
		{
			name:  "processor deposit waits inside its window",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			today: day(3),
			waitL: []string{"l1"},
		},
		{
			name:  "unrelated line is not reported",
			lines: []BankLine{ln("l1", 9000, 0, "PAYROLL"), ln("l2", -1234, 0, "COFFEE")},
		},
		{
			name:  "pending lines are ignored",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE", pending)},
			pays:  []payouts.Payout{po("po_1", 9000, 0)},
			exc:   []exp{{ReasonUnmatchedPayout, "", "po_1"}},
		},
		{
			name:  "too many candidates is ambiguous",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE")},
			pays:  []payouts.Payout{po("po_1", 9000, 0), po("po_2", 9000, 0), po("po_3", 9000, 0)},
			cfg:   func(c *Config) { c.MaxCandidates = 2 },
			exc:   []exp{{ReasonAmbiguous, "l1", "po_1+po_2+po_3"}},
		},
		{
			name:  "a bank line in another currency than the payout is no candidate",
			lines: []BankLine{ln("l1", 9000, 0, "STRIPE", lineCur("EUR")), ln("l2", 1, 0, "x")},
			pays:  []payouts.Payout{po("po_1", 9000, 0)},
			exc:   []exp{{ReasonUnmatchedDeposit, "l1", ""}, {ReasonUnmatchedPayout, "", "po_1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			today := tc.today
			if today == 0 {
				today = late
			}
			cfg := DefaultConfig(today)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			res, err := Run(Input{Lines: tc.lines, Payouts: tc.pays}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := matchPairs(res.Matches)
			slices.SortFunc(got, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
			want := slices.Clone(tc.matched)
			slices.SortFunc(want, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
			if !reflect.DeepEqual(got, want) {
				t.Errorf("matches = %v, want %v", got, want)
			}
			gotE, wantE := excs(res.Exceptions), slices.Clone(tc.exc)
			key := func(a, b exp) int { return strings.Compare(a.reason+a.lines+a.pays, b.reason+b.lines+b.pays) }
			slices.SortFunc(gotE, key)
			slices.SortFunc(wantE, key)
			if !reflect.DeepEqual(gotE, wantE) {
				t.Errorf("exceptions = %v, want %v", gotE, wantE)
			}
			if !reflect.DeepEqual(nz(res.Waiting.LineIDs), nz(tc.waitL)) || !reflect.DeepEqual(nz(res.Waiting.PayoutIDs), nz(tc.waitP)) {
				t.Errorf("waiting = %v %v, want %v %v", res.Waiting.LineIDs, res.Waiting.PayoutIDs, tc.waitL, tc.waitP)
			}
			if tc.rule != "" {
				found := false
				for _, m := range res.Matches {
					found = found || m.Rule == tc.rule
				}
				if !found {
					t.Errorf("no match decided by rule %q: %+v", tc.rule, res.Matches)
				}
			}
			for _, e := range res.Exceptions {
				if e.Message == "" || e.Key == "" {
					t.Errorf("exception without message or key: %+v", e)
				}
			}
		})
	}
}

func nz(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestRunIsDeterministicAndOrderFree(t *testing.T) {
	lines := []BankLine{
		ln("l1", 7000, 0, "STRIPE"), ln("l2", 7000, 0, "STRIPE"), ln("l3", 15000, 1, "STRIPE"),
		ln("l4", 389000, 2, "STRIPE ACME"), ln("l5", 100, 2, "STRIPE"), ln("l6", 4200, 3, "DEPOSIT"),
	}
	pays := []payouts.Payout{
		po("po_1", 7000, 0), po("po_2", 7000, 0), po("po_3", 10000, 1), po("po_4", 5000, 1),
		po("po_5", 389000, 2, acct("a", "ACME")), po("po_6", 4200, 3), po("po_7", 99, 2),
	}
	cfg := DefaultConfig(day(30))
	first, err := Run(Input{Lines: lines, Payouts: pays}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(first)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		r.Shuffle(len(lines), func(a, b int) { lines[a], lines[b] = lines[b], lines[a] })
		r.Shuffle(len(pays), func(a, b int) { pays[a], pays[b] = pays[b], pays[a] })
		res, err := Run(Input{Lines: lines, Payouts: pays}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(res); string(got) != string(want) {
			t.Fatalf("shuffle %d changed the result:\n%s\nwant\n%s", i, got, want)
		}
	}
}

func TestRunSkipsMatchedIDs(t *testing.T) {
	lines := []BankLine{ln("l1", 7000, 0, "STRIPE"), ln("l2", 7000, 0, "STRIPE")}
	pays := []payouts.Payout{po("po_1", 7000, 0), po("po_2", 7000, 0)}
	// With l1/po_1 already matched by a person, l2 and po_2 are each other's only candidate.
	res, err := Run(Input{Lines: lines, Payouts: pays, MatchedLines: map[string]bool{"l1": true},
		MatchedPayouts: map[string]bool{"po_1": true}}, DefaultConfig(day(30)))
	if err != nil {
		t.Fatal(err)
	}
	if got := matchPairs(res.Matches); !reflect.DeepEqual(got, [][2]string{{"l2", "po_2"}}) {
		t.Fatalf("matches = %v", got)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	cases := map[string]struct {
		in  Input
		cfg Config
	}{
		"no today":          {Input{}, Config{}},
		"bad window":        {Input{}, func() Config { c := DefaultConfig(mon); c.After = -1; return c }()},
		"payout date":       {Input{Payouts: []payouts.Payout{{ID: "p", Amount: 1, Currency: "USD", ArrivalDate: "2024-13-01"}}}, DefaultConfig(mon)},
		"line without date": {Input{Lines: []BankLine{{ID: "l", Amount: 1, Currency: "USD"}}}, DefaultConfig(mon)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Run(tc.in, tc.cfg); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestCheckManual(t *testing.T) {
	line := ln("l1", 15000, 0, "DEPOSIT")
	p1, p2 := po("po_1", 10000, 0), po("po_2", 5000, 0)
	tests := []struct {
		name    string
		line    BankLine
		pays    []payouts.Payout
		matched map[string]bool
		field   string
	}{
		{"sums agree", line, []payouts.Payout{p1, p2}, nil, ""},
		{"sums differ", line, []payouts.Payout{p1}, nil, "payout_ids"},
		{"currency differs", line, []payouts.Payout{p1, po("po_3", 5000, 0, currency("EUR"))}, nil, "payout_ids"},
		{"payout listed twice", line, []payouts.Payout{p2, p2, p2}, nil, "payout_ids"},
		{"payout not paid", line, []payouts.Payout{p1, po("po_4", 5000, 0, status(payouts.StatusFailed))}, nil, "payout_ids"},
		{"payout already matched", line, []payouts.Payout{p1, p2}, map[string]bool{"po_2": true}, "payout_ids"},
		{"line already matched", line, []payouts.Payout{p1, p2}, map[string]bool{"l1": true}, "bank_transaction_id"},
		{"line pending", ln("l9", 15000, 0, "x", pending), []payouts.Payout{p1, p2}, nil, "bank_transaction_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := CheckManual(tc.line, tc.pays, tc.matched, tc.matched)
			if tc.field == "" {
				if err != nil || m.Kind != KindManual || joined(m.PayoutIDs) != "po_1+po_2" {
					t.Fatalf("got %+v, %v", m, err)
				}
				return
			}
			fe, ok := err.(*FieldError)
			if !ok || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}
