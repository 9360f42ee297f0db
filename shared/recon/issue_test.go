package recon

import (
	"strings"
	"testing"

	"github.com/payrecon/payrecon/shared/payouts"
)

func TestItemisationIssues(t *testing.T) {
	ambiguous := func(p *payouts.Payout) {
		p.ItemisationStatus, p.ItemisationIssue, p.ItemisationNote = payouts.ItemisationIncomplete, "ambiguous", "two sets of batches fit"
	}
	differs := func(p *payouts.Payout) {
		p.ItemisationStatus, p.ItemisationIssue, p.ItemisationNote = payouts.ItemisationIncomplete, "difference", "difference 1.00 USD"
	}
	for _, tc := range []struct {
		name       string
		lines      []BankLine
		opt        func(*payouts.Payout)
		wantReason string
		wantNote   string
	}{
		{"ambiguous batch sets, with their deposit", []BankLine{ln("l1", 9000, 0, "QUALPAY")}, ambiguous, ReasonAmbiguous, "two sets of batches fit"},
		{"ambiguous batch sets, no deposit yet", nil, ambiguous, ReasonAmbiguous, "two sets of batches fit"},
		{"a difference stays itemisation_incomplete, with the note", []BankLine{ln("l1", 9000, 0, "QUALPAY")}, differs, ReasonItemisationIncomplete, "difference 1.00 USD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := po("qp_1", 9000, 0, tc.opt)
			p.Provider = payouts.Qualpay
			res, err := Run(Input{Lines: tc.lines, Payouts: []payouts.Payout{p}}, DefaultConfig(day(30)))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range res.Exceptions {
				if len(e.PayoutIDs) == 1 && e.PayoutIDs[0] == "qp_1" && e.Reason == tc.wantReason && strings.Contains(e.Message, tc.wantNote) {
					found = true
					if !strings.HasPrefix(e.Key, tc.wantReason+":") {
						t.Fatalf("key %q", e.Key)
					}
				}
				if e.Reason == ReasonItemisationIncomplete && tc.wantReason == ReasonAmbiguous {
					t.Fatalf("still itemisation_incomplete: %+v", e)
				}
			}
			if !found || len(res.Matches) != 0 {
				t.Fatalf("exceptions %+v matches %d", res.Exceptions, len(res.Matches))
			}
		})
	}
}
