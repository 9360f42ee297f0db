package recon_test

import (
	"testing"

	"github.com/payrecon/payrecon/shared/local/reconsim"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
)

func generate(t testing.TB, cfg reconsim.Config) *reconsim.Scenario {
	t.Helper()
	s, err := reconsim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAccuracy runs the matcher on noisy generated companies and checks the
// targets: no wrong match, at least 99% of matchable deposits matched, every
// unmatched processor item explained.
func TestAccuracy(t *testing.T) {
	var total reconsim.Score
	for seed := uint64(1); seed <= 5; seed++ {
		s := generate(t, reconsim.Small(seed))
		res, err := recon.Run(s.Input(), s.Config())
		if err != nil {
			t.Fatal(err)
		}
		sc := reconsim.Evaluate(s, res)
		t.Logf("seed %d: %d lines, %d payouts, %d matches (%d wrong), recall %d/%d, exceptions %v, unrelated %d",
			seed, len(s.Lines), len(s.Payouts), sc.Matches, sc.Wrong, sc.Recalled, sc.Matchable, sc.Exceptions, res.Stats.Unrelated)
		if sc.Wrong > 0 {
			t.Errorf("seed %d: wrong matches: %v", seed, sc.WrongMatches)
		}
		if len(sc.Unexplained) > 0 {
			t.Errorf("seed %d: unexplained: %v", seed, sc.Unexplained)
		}
		total.Matches += sc.Matches
		total.Wrong += sc.Wrong
		total.Recalled += sc.Recalled
		total.Matchable += sc.Matchable
	}
	recall := float64(total.Recalled) / float64(total.Matchable)
	t.Logf("total: precision %d/%d, recall %.4f (%d/%d)", total.Matches-total.Wrong, total.Matches, recall, total.Recalled, total.Matchable)
	if recall < 0.99 {
		t.Errorf("recall %.4f < 0.99", recall)
	}
}

// TestJournalBalancesOnEveryGeneratedMatch is the property: every match the
// matcher makes on generated data books entries whose debits equal credits,
// whose clearing accounts net to zero (payout-failure funds aside), and whose
// reversal undoes them exactly.
func TestJournalBalancesOnEveryGeneratedMatch(t *testing.T) {
	for seed := uint64(11); seed <= 13; seed++ {
		s := generate(t, reconsim.Small(seed))
		res, err := recon.Run(s.Input(), s.Config())
		if err != nil {
			t.Fatal(err)
		}
		lines := map[string]recon.BankLine{}
		for _, l := range s.Lines {
			lines[l.ID] = l
		}
		pays := map[string]payouts.Payout{}
		for _, p := range s.Payouts {
			pays[p.ID] = p
		}
		accts := recon.DefaultAccounts()
		for _, m := range res.Matches {
			post := recon.Posting{Kind: m.Kind}
			for _, id := range m.LineIDs {
				post.Lines = append(post.Lines, lines[id])
			}
			for _, id := range m.PayoutIDs {
				post.Payouts = append(post.Payouts, pays[id])
			}
			entries, err := recon.Journal(post, accts)
			if err != nil {
				t.Fatalf("seed %d match %v: %v", seed, m.LineIDs, err)
			}
			if err := recon.CheckBalanced(entries); err != nil {
				t.Fatalf("seed %d match %v: %v", seed, m.LineIDs, err)
			}
			b := recon.Balances(entries)
			if m.Kind != recon.KindReturned && b["Stripe Clearing"]+b["Qualpay Clearing"] != 0 {
				t.Fatalf("seed %d match %v: clearing does not net to zero: %v", seed, m.LineIDs, b)
			}
			rev := recon.Reverse(entries, s.Today)
			for acct, v := range recon.Balances(append(entries, rev...)) {
				if v != 0 {
					t.Fatalf("seed %d match %v: %s = %d after reversal", seed, m.LineIDs, acct, v)
				}
			}
		}
		for _, p := range s.Payouts {
			if p.Status != payouts.StatusFailed {
				continue
			}
			entries, err := recon.JournalFailedPayout(p, s.Today, accts)
			if err != nil {
				t.Fatal(err)
			}
			if err := recon.CheckBalanced(entries); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestIncrementalAndIdempotent: a second run that knows the first run's matches
// adds nothing; a run on half the data followed by one on all of it ends with
// no wrong match and the same exceptions.
func TestIncrementalAndIdempotent(t *testing.T) {
	s := generate(t, reconsim.Small(21))
	cfg := s.Config()
	first, err := recon.Run(s.Input(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := s.Input()
	in.MatchedLines, in.MatchedPayouts = matched(first.Matches)
	second, err := recon.Run(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Matches) != 0 {
		t.Fatalf("second run made %d new matches, e.g. %+v", len(second.Matches), second.Matches[0])
	}
	if !sameExceptions(first.Exceptions, second.Exceptions) {
		t.Fatalf("second run changed the exceptions: %d vs %d", len(first.Exceptions), len(second.Exceptions))
	}

	// Incremental: match the first half of the period (as of its end), then everything.
	mid := s.Lines[0].Date
	for _, l := range s.Lines {
		mid = max(mid, l.Date)
	}
	mid = mid.AddDays(-90)
	var early recon.Input
	for _, l := range s.Lines {
		if l.Date <= mid {
			early.Lines = append(early.Lines, l)
		}
	}
	for _, p := range s.Payouts {
		if d, _ := recon.ParseDate(p.ArrivalDate); d <= mid {
			early.Payouts = append(early.Payouts, p)
		}
	}
	cfgEarly := cfg
	cfgEarly.Today = mid
	r1, err := recon.Run(early, cfgEarly)
	if err != nil {
		t.Fatal(err)
	}
	in = s.Input()
	in.MatchedLines, in.MatchedPayouts = matched(r1.Matches)
	r2, err := recon.Run(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	all := recon.Result{Matches: append(append([]recon.Match{}, r1.Matches...), r2.Matches...), Exceptions: r2.Exceptions, Waiting: r2.Waiting}
	sc := reconsim.Evaluate(s, all)
	if sc.Wrong > 0 || len(sc.Unexplained) > 0 {
		t.Fatalf("incremental: wrong %v unexplained %v", sc.WrongMatches, sc.Unexplained)
	}
	if sc.Recalled < reconsim.Evaluate(s, first).Recalled-2 {
		t.Fatalf("incremental recall %d, one-shot %d", sc.Recalled, reconsim.Evaluate(s, first).Recalled)
	}
	in.MatchedLines, in.MatchedPayouts = matched(all.Matches)
	r3, err := recon.Run(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r3.Matches) != 0 || !sameExceptions(r2.Exceptions, r3.Exceptions) {
		t.Fatalf("third run changed something: %d matches", len(r3.Matches))
	}
}

func matched(ms []recon.Match) (map[string]bool, map[string]bool) {
	l, p := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		for _, id := range m.LineIDs {
			l[id] = true
		}
		for _, id := range m.PayoutIDs {
			p[id] = true
		}
	}
	return l, p
}

func sameExceptions(a, b []recon.Exception) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key {
			return false
		}
	}
	return true
}

// TestAccuracyUnderHeavyNoise turns single kinds of noise far up (equal
// amounts, batches, failures, bare "STRIPE" lines at scale) and checks that
// precision stays perfect and everything stays explained; recall may drop.
func TestAccuracyUnderHeavyNoise(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds; skipped with -short")
	}
	profiles := []struct {
		name string
		cfg  func(seed uint64) reconsim.Config
	}{
		{"twins, delays, equal unrelated deposits", func(seed uint64) reconsim.Config {
			c := reconsim.Small(seed)
			c.TwinRate, c.UnrelatedEqualRate, c.WeakRate, c.DelayRate, c.EarlyRate = 0.15, 0.4, 0.1, 0.3, 0.1
			c.StripeAccounts, c.GenericRate = 1, 0.5
			return c
		}},
		{"half the deposits batched", func(seed uint64) reconsim.Config {
			c := reconsim.Small(seed)
			c.BatchRate, c.GenericRate, c.DelayRate, c.StripeAccounts, c.QualpayAccounts = 0.5, 0.8, 0.2, 3, 2
			return c
		}},
		{"failures, negatives, short and orphan deposits", func(seed uint64) reconsim.Config {
			c := reconsim.Small(seed)
			c.FailedRate, c.MissingRate, c.NegativeRate, c.MismatchRate, c.OrphanRate = 0.1, 0.05, 0.1, 0.05, 0.05
			return c
		}},
		{"many accounts, bare provider names", func(seed uint64) reconsim.Config {
			c := reconsim.Bench(20000, seed)
			c.GenericRate, c.BatchRate = 0.9, 0.3
			return c
		}},
	}
	for _, pr := range profiles {
		t.Run(pr.name, func(t *testing.T) {
			var rec, mat int
			for seed := uint64(100); seed < 104; seed++ {
				s := generate(t, pr.cfg(seed))
				res, err := recon.Run(s.Input(), s.Config())
				if err != nil {
					t.Fatal(err)
				}
				sc := reconsim.Evaluate(s, res)
				if sc.Wrong > 0 {
					t.Errorf("seed %d: wrong matches %v", seed, sc.WrongMatches)
				}
				if len(sc.Unexplained) > 0 {
					t.Errorf("seed %d: unexplained %v", seed, sc.Unexplained)
				}
				rec, mat = rec+sc.Recalled, mat+sc.Matchable
			}
			t.Logf("recall %d/%d = %.4f", rec, mat, float64(rec)/float64(mat))
		})
	}
}
