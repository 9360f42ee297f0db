package reconsim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
)

// Score is how a result compares with the truth.
type Score struct {
	Matches, Correct, Wrong int
	Matchable, Recalled     int
	Precision, Recall       float64 // 1 when there is nothing to measure
	// Unexplained lists items that are neither matched, waiting, nor named by an
	// exception: processor lines (unrelated lines need no explanation) and
	// payouts other than failed ones.
	Unexplained  []string
	WrongMatches []string
	Exceptions   map[string]int // by reason
}

// Evaluate scores r against the scenario's truth.
func Evaluate(s *Scenario, r recon.Result) Score {
	sc := Score{Matches: len(r.Matches), Exceptions: map[string]int{}}
	matchedL, matchedP := map[string]bool{}, map[string]bool{}
	explained := map[string]bool{}
	for _, m := range r.Matches {
		ok := true
		for _, l := range m.LineIDs {
			want, known := s.Truth.Payouts[l]
			if !known || !slices.Equal(want, m.PayoutIDs) {
				ok = false
			}
			matchedL[l] = true
		}
		for _, p := range m.PayoutIDs {
			matchedP[p] = true
		}
		if ok {
			sc.Correct++
			if s.Truth.Matchable[m.LineIDs[0]] {
				sc.Recalled++
			}
		} else {
			sc.Wrong++
			sc.WrongMatches = append(sc.WrongMatches, fmt.Sprintf("%s -> %s (truth %v)", strings.Join(m.LineIDs, "+"),
				strings.Join(m.PayoutIDs, "+"), s.Truth.Payouts[m.LineIDs[0]]))
		}
	}
	for _, e := range r.Exceptions {
		sc.Exceptions[e.Reason]++
		for _, id := range e.LineIDs {
			explained[id] = true
		}
		for _, id := range e.PayoutIDs {
			explained[id] = true
		}
	}
	for _, id := range r.Waiting.LineIDs {
		explained[id] = true
	}
	for _, id := range r.Waiting.PayoutIDs {
		explained[id] = true
	}
	sc.Matchable = len(s.Truth.Matchable)
	posted := map[string]bool{}
	for _, l := range s.Lines {
		posted[l.ID] = true
	}
	for id := range s.Truth.Payouts {
		if posted[id] && !matchedL[id] && !explained[id] {
			sc.Unexplained = append(sc.Unexplained, id)
		}
	}
	for _, p := range s.Payouts {
		if p.Status == payouts.StatusFailed || p.Status == payouts.StatusCanceled || matchedP[p.ID] || explained[p.ID] {
			continue
		}
		sc.Unexplained = append(sc.Unexplained, p.ID)
	}
	slices.Sort(sc.Unexplained)
	sc.Precision, sc.Recall = 1, 1
	if sc.Matches > 0 {
		sc.Precision = float64(sc.Correct) / float64(sc.Matches)
	}
	if sc.Matchable > 0 {
		sc.Recall = float64(sc.Recalled) / float64(sc.Matchable)
	}
	return sc
}

// Input returns the matcher input of a scenario (nothing matched yet).
func (s *Scenario) Input() recon.Input {
	return recon.Input{Lines: s.Lines, Payouts: s.Payouts}
}

// Config returns the matcher configuration for a scenario.
func (s *Scenario) Config() recon.Config {
	c := recon.DefaultConfig(s.Today)
	c.Keywords = s.Keywords
	return c
}
