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
			byID = make(map[string]int, len(m.in.Payouts))
			for pi := range m.in.Payouts {
				if m.in.Payouts[pi].ItemisationIssue != "" || m.in.Payouts[pi].ItemisationNote != "" {
					byID[m.in.Payouts[pi].ID] = pi
				}
			}
			if len(byID) == 0 {
				return
			}
		}
		for _, id := range e.PayoutIDs {
			pi, ok := byID[id]
			if !ok {
				continue
			}
			po := &m.in.Payouts[pi]
			if po.ItemisationNote != "" {
				e.Message += " (" + id + ": " + po.ItemisationNote + ")"
			}
			if po.ItemisationIssue == ReasonAmbiguous && e.Reason != ReasonAmbiguous {
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
