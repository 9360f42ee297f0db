package recon

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// itemisationIssues gives itemisation_incomplete exceptions the reason the
// provider side found (payouts.Payout.ItemisationIssue / ItemisationNote, set
// by the Qualpay itemisation): a deposit that two sets of batches fit is an
// ambiguous exception, never guessed, and every note (the difference, the
// currencies that disagree) is appended to the message a person reads.
func (m *matcher) itemisationIssues() {
	var byID map[string]int
	for i := range m.res.Exceptions {
		e := &m.res.Exceptions[i]
		if e.Reason != ReasonItemisationIncomplete || len(e.PayoutIDs) == 0 {
			continue
		}
		if byID == nil {
			if len(m.t.notes) == 0 {
				return
			}
			byID = make(map[string]int, len(m.t.notes))
			for k, n := range m.t.notes {
				byID[m.t.payoutID(n.i)] = k
			}
		}
		for _, id := range e.PayoutIDs {
			k, ok := byID[id]
			if !ok {
				continue
			}
			po := &m.t.notes[k]
			if po.note != "" {
				e.Message += " (" + id + ": " + po.note + ")"
			}
			if po.issue == ReasonAmbiguous && e.Reason != ReasonAmbiguous {
				e.Reason = ReasonAmbiguous
				e.Key = rekey(e.Key, ReasonItemisationIncomplete, ReasonAmbiguous)
			}
		}
	}
}

// rekey moves an exception key to another reason, keeping its members part.
func rekey(k, from, to string) string {
	k = to + strings.TrimPrefix(k, from)
	if len(k) > 160 {
		sum := sha256.Sum256([]byte(k))
		k = to + ":" + hex.EncodeToString(sum[:16])
	}
	return k
}
