package embed

import (
	"net/http"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/recon/reconsvc"
)

// ItemsPage is how many payout items one detail response carries.
const ItemsPage = 100

func (s *Service) apiRoutes(r *httpapi.Router) {
	pub := httpapi.Public()
	a := PagePath + "/api"
	r.Handle(http.MethodGet, a+"/session", s.api(nil, false, s.apiSession), pub)
	r.Handle(http.MethodGet, a+"/connections", s.api(only(Connect), false, s.apiConnections), pub)
	r.Handle(http.MethodPost, a+"/stripe/connect", s.api(only(Connect), true, s.apiStartStripe), pub, httpapi.MaxBody(1<<10))
	r.Handle(http.MethodPost, a+"/stripe/onboarding", s.api(only(Connect), true, s.apiStripeOnboarding), pub, httpapi.MaxBody(1<<10))
	r.Handle(http.MethodDelete, a+"/connections/{provider}", s.api(only(Connect), true, s.apiDisconnect), pub)
	r.Handle(http.MethodGet, a+"/payouts", s.api(only(Payouts, Reconciliation), false, s.apiPayouts), pub)
	r.Handle(http.MethodGet, a+"/payouts/{payout_id}", s.api(only(Payouts), false, s.apiPayout), pub)
	r.Handle(http.MethodGet, a+"/matches", s.api(only(Reconciliation), false, s.apiMatches), pub)
	r.Handle(http.MethodGet, a+"/exceptions", s.api(only(Reconciliation), false, s.apiExceptions), pub)
	// Served by the reconcile function (MatchRoutes); listed so a wrong
	// method's 405 names them.
	r.Elsewhere(http.MethodPost, a+"/matches")
	r.Elsewhere(http.MethodDelete, a+"/matches/{match_id}")
}

// MatchRoutes mounts the page's reconciliation writes (manual match, unmatch)
// with the same cookie session and CSRF checks. The reconcile function serves
// them (template.yaml routes these two paths to it), as it serves the API's
// manual matches: the embedded function only reads reconciliation, so it does
// not link the matcher (≈0.6 MB of its bootstrap, docs/lambda-size.md).
func MatchRoutes(r *httpapi.Router, s *Service) {
	pub := httpapi.Public()
	a := PagePath + "/api"
	r.Handle(http.MethodPost, a+"/matches", s.api(only(Reconciliation), true, s.apiManualMatch), pub, httpapi.MaxBody(8<<10))
	r.Handle(http.MethodDelete, a+"/matches/{match_id}", s.api(only(Reconciliation), true, s.apiUnmatch), pub)
}

func only(cs ...string) []string { return cs }

func (s *Service) apiSession(w http.ResponseWriter, r *http.Request, sess Session) error {
	co, err := s.Companies.Get(r.Context(), sess.PartnerID, sess.CompanyID)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"company": map[string]string{"id": co.ID, "name": co.Name}, "components": sess.Components,
		"locale": sess.Locale, "expires_at": sess.ExpiresAt,
	})
}

// Connection is one provider's state as the page shows it.
type Connection struct {
	Provider    string `json:"provider"`
	Status      string `json:"status"` // connected | pending | not_connected
	AccountID   string `json:"account_id,omitempty"`
	Method      string `json:"method,omitempty"`
	ConnectedAt string `json:"connected_at,omitempty"`
}

func (s *Service) apiConnections(w http.ResponseWriter, r *http.Request, sess Session) error {
	list, err := s.Companies.Connections(r.Context(), sess.PartnerID, sess.CompanyID)
	if err != nil {
		return err
	}
	out := []Connection{{Provider: "stripe", Status: "not_connected"}, {Provider: "qualpay", Status: "not_connected"}}
	for _, c := range list {
		for i := range out {
			if out[i].Provider == c.Provider {
				out[i] = Connection{Provider: c.Provider, Status: "connected", AccountID: c.AccountID, Method: c.Method,
					ConnectedAt: c.ConnectedAt.UTC().Format("2006-01-02")}
				if !c.Active() {
					out[i].Status = companies.StatusPending // onboarding not finished: not connected yet
				}
			}
		}
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"data": out})
}

// apiStartStripe runs Start Stripe Flow; Stripe sends the user back to this page.
func (s *Service) apiStartStripe(w http.ResponseWriter, r *http.Request, sess Session) error {
	res, err := s.Connect.StartStripe(r.Context(), sess.PartnerID, sess.CompanyID, s.baseURL(r)+PagePath, r.Host)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, res)
}

// apiStripeOnboarding runs "Create a Stripe account"; Stripe sends the user back to this page.
func (s *Service) apiStripeOnboarding(w http.ResponseWriter, r *http.Request, sess Session) error {
	res, err := s.Connect.StartOnboarding(r.Context(), sess.PartnerID, sess.CompanyID, s.baseURL(r)+PagePath, r.Host)
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"url": res.URL, "expires_at": res.ExpiresAt})
}

func (s *Service) apiDisconnect(w http.ResponseWriter, r *http.Request, sess Session) error {
	var err error
	switch r.PathValue("provider") {
	case "stripe":
		_, err = s.Connect.DisconnectStripe(r.Context(), sess.PartnerID, sess.CompanyID)
	case "qualpay":
		_, err = s.Connect.DisconnectQualpay(r.Context(), sess.PartnerID, sess.CompanyID)
	default:
		err = apperr.New(apperr.NotFound, "unknown provider")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// PayoutRow is a payout in the list, with its reconciliation state.
type PayoutRow struct {
	ID                string `json:"id"`
	Provider          string `json:"provider"`
	ArrivalDate       string `json:"arrival_date"`
	Amount            int64  `json:"amount"`
	Currency          string `json:"currency"`
	Status            string `json:"status"`
	ItemisationStatus string `json:"itemisation_status"`
	ItemCount         int    `json:"item_count"`
	// Reconciliation: matched (with MatchID) | exception | open.
	Reconciliation string `json:"reconciliation"`
	MatchID        string `json:"match_id,omitempty"`
}

// reconState finds which of the given payouts are in an active match (from
// each payout's own reconciliation view: one batch read for the page, however
// long the company's history) or in an open exception (the newest 100 open
// exceptions: open ones are few, they are the work list).
func (s *Service) reconState(r *http.Request, sess Session, pays []payouts.Payout) (map[string]string, map[string]bool, error) {
	ids := make([]string, 0, len(pays))
	for _, p := range pays {
		ids = append(ids, p.ID)
	}
	matched, err := s.Recon.PayoutMatches(r.Context(), sess.PartnerID, sess.CompanyID, ids)
	if err != nil {
		return nil, nil, err
	}
	excepted := map[string]bool{}
	xs, _, err := s.Recon.Exceptions(r.Context(), sess.PartnerID, sess.CompanyID, reconsvc.Filter{Status: reconsvc.ExceptionOpen}, 100, "")
	if err != nil {
		return nil, nil, err
	}
	for _, x := range xs {
		for _, id := range x.PayoutIDs {
			excepted[id] = true
		}
	}
	return matched, excepted, nil
}

func row(p payouts.Payout, matched map[string]string, excepted map[string]bool) PayoutRow {
	st := "open"
	if excepted[p.ID] {
		st = "exception"
	}
	if matched[p.ID] != "" {
		st = "matched"
	}
	return PayoutRow{ID: p.ID, Provider: p.Provider, ArrivalDate: p.ArrivalDate, Amount: p.Amount, Currency: p.Currency,
		Status: p.Status, ItemisationStatus: p.ItemisationStatus, ItemCount: p.ItemCount, Reconciliation: st, MatchID: matched[p.ID]}
}

func (s *Service) apiPayouts(w http.ResponseWriter, r *http.Request, sess Session) error {
	list, next, err := s.Payouts.List(r.Context(), sess.PartnerID, sess.CompanyID, 20, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	matched, excepted, err := s.reconState(r, sess, list)
	if err != nil {
		return err
	}
	out := make([]PayoutRow, 0, len(list))
	for _, p := range list {
		out = append(out, row(p, matched, excepted))
	}
	return httpapi.WriteJSON(w, http.StatusOK, reconsvc.Page[PayoutRow]{Data: out, NextCursor: next})
}

// Total is one line of a payout's summary: a kind of item and what it adds.
type Total struct {
	Kind   string `json:"kind"`
	Label  string `json:"label"`
	Count  int    `json:"count"`
	Amount int64  `json:"amount"`
}

// PayoutDetail is a payout with one page of its items and the totals of all of
// them, which add up to the deposit.
type PayoutDetail struct {
	PayoutRow
	Items      []payouts.Item `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
	// TotalsKnown is false for a payout itemised before totals were stored
	// whose items do not fit on one page: its totals are then not shown.
	TotalsKnown bool    `json:"totals_known"`
	Totals      []Total `json:"totals"`
	TotalNet    int64   `json:"total_net"`
	AddsUp      bool    `json:"adds_up"`
}

var totalLabels = []struct{ kind, label string }{
	{payouts.ItemCharge, "Charges"}, {payouts.ItemPayment, "Payments"}, {payouts.TotalsFees, "Processing fees"},
	{payouts.ItemRefund, "Refunds"}, {payouts.ItemDispute, "Disputes"}, {payouts.ItemClimate, "Stripe Climate"},
	{payouts.ItemAdjustment, "Adjustments"}, {payouts.ItemFee, "Other fees"}, {payouts.ItemApplicationFee, "Platform fees"},
	{payouts.ItemPayoutFailure, "Failed payout reversals"}, {payouts.ItemOther, "Other"},
}

// storedTotals reads the totals the itemisation stored on the payout (a
// charge's fee is under "Processing fees", so every line is an amount and the
// lines add up to the items' nets); ok is false when the payout has none that
// cover all its items.
func storedTotals(p payouts.Payout) (out []Total, net int64, ok bool) {
	if p.Totals == nil {
		return nil, 0, false
	}
	sum := map[string]*Total{}
	count := 0
	for kind, t := range p.Totals {
		if kind != payouts.TotalsFees {
			count += t.Count
		}
		known := false
		for _, l := range totalLabels {
			known = known || l.kind == kind
		}
		if !known {
			kind = payouts.ItemOther
		}
		if sum[kind] == nil {
			sum[kind] = &Total{Kind: kind}
		}
		sum[kind].Count += t.Count
		sum[kind].Amount += t.Amount
		net += t.Amount
	}
	if count != p.ItemCount {
		return nil, 0, false
	}
	out = []Total{}
	for _, l := range totalLabels {
		if t := sum[l.kind]; t != nil {
			t.Label = l.label
			out = append(out, *t)
		}
	}
	return out, net, true
}

// pageTotals totals items the same way, for a payout without stored totals
// whose items all fit on the page read.
func pageTotals(items []payouts.Item) ([]Total, int64) {
	t := map[string]payouts.KindTotal{}
	for _, it := range items {
		payouts.AddTotal(t, it)
	}
	out, net, _ := storedTotals(payouts.Payout{Totals: t, ItemCount: len(items)})
	return out, net
}

func (s *Service) apiPayout(w http.ResponseWriter, r *http.Request, sess Session) error {
	ctx := r.Context()
	p, err := s.Payouts.Get(ctx, sess.PartnerID, sess.CompanyID, r.PathValue("payout_id"))
	if err != nil {
		return err
	}
	// One page of items (the store's paged route, as GET …/payouts/{id}/items)
	// and the totals stored on the payout: the reads are bounded whatever the
	// payout's size.
	cursor := r.URL.Query().Get("cursor")
	items, next, err := s.Payouts.ItemsPage(ctx, sess.PartnerID, sess.CompanyID, p.ID, ItemsPage, cursor)
	if err != nil {
		return err
	}
	matched, excepted, err := s.reconState(r, sess, []payouts.Payout{p})
	if err != nil {
		return err
	}
	d := PayoutDetail{PayoutRow: row(p, matched, excepted), Items: items, NextCursor: next, Totals: []Total{}}
	if d.Totals, d.TotalNet, d.TotalsKnown = storedTotals(p); !d.TotalsKnown {
		d.Totals = []Total{}
		if cursor == "" && next == "" {
			d.Totals, d.TotalNet = pageTotals(items)
			d.TotalsKnown = true
		}
	}
	d.AddsUp = d.TotalsKnown && d.TotalNet == p.Amount && p.ItemisationStatus == payouts.ItemisationComplete
	return httpapi.WriteJSON(w, http.StatusOK, d)
}

func (s *Service) apiMatches(w http.ResponseWriter, r *http.Request, sess Session) error {
	list, next, err := s.Recon.Matches(r.Context(), sess.PartnerID, sess.CompanyID, reconsvc.Filter{Status: reconsvc.MatchActive}, 20, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	out := make([]MatchView, 0, len(list))
	for _, m := range list {
		v := MatchView{Match: m, Entries: []recon.Entry{}}
		// The first parts of its journal (matches are headers; a long journal
		// is paged on the reports API), so the page stays bounded.
		parts, more, err := s.Recon.JournalEntries(r.Context(), sess.PartnerID, sess.CompanyID, reconsvc.Filter{MatchID: m.ID}, journalParts, "")
		if err != nil {
			return err
		}
		for _, je := range parts {
			if je.Part == 1 || len(v.Entries) == 0 {
				v.Entries = append(v.Entries, je.Entry)
			} else {
				v.Entries[len(v.Entries)-1].Lines = append(v.Entries[len(v.Entries)-1].Lines, je.Lines...)
			}
		}
		v.MoreEntries = more != ""
		out = append(out, v)
	}
	return httpapi.WriteJSON(w, http.StatusOK, reconsvc.Page[MatchView]{Data: out, NextCursor: next})
}

// journalParts is how many journal parts (≤ 40 lines each) a listed match shows.
const journalParts = 5

// MatchView is a match with the first parts of its journal entries.
type MatchView struct {
	reconsvc.Match
	Entries     []recon.Entry `json:"journal_entries"`
	MoreEntries bool          `json:"more_journal_entries,omitempty"`
}

// Exception is an open exception with a title a person understands.
type Exception struct {
	reconsvc.Exception
	Title string `json:"title"`
	// Resolvable: a deposit that a manual match can settle.
	Resolvable bool `json:"resolvable"`
}

var exceptionTitles = map[string]string{
	recon.ReasonUnmatchedDeposit:      "A bank deposit has no payout behind it",
	recon.ReasonUnmatchedPayout:       "A payout has not been found in the bank",
	recon.ReasonAmbiguous:             "More than one payout could explain this deposit",
	recon.ReasonAmountMismatch:        "The deposit and the payout amounts differ",
	recon.ReasonCurrencyMismatch:      "The deposit and the payout are in different currencies",
	recon.ReasonItemisationIncomplete: "The payout's transactions do not add up to it yet",
}

func (s *Service) apiExceptions(w http.ResponseWriter, r *http.Request, sess Session) error {
	list, next, err := s.Recon.Exceptions(r.Context(), sess.PartnerID, sess.CompanyID, reconsvc.Filter{Status: reconsvc.ExceptionOpen}, 50, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	out := make([]Exception, 0, len(list))
	for _, x := range list {
		t := exceptionTitles[x.Reason]
		if t == "" {
			t = "Something did not reconcile"
		}
		out = append(out, Exception{Exception: x, Title: t, Resolvable: len(x.BankTransactionIDs) == 1 &&
			(x.Reason == recon.ReasonUnmatchedDeposit || x.Reason == recon.ReasonAmbiguous || x.Reason == recon.ReasonAmountMismatch)})
	}
	return httpapi.WriteJSON(w, http.StatusOK, reconsvc.Page[Exception]{Data: out, NextCursor: next})
}

// apiManualMatch books the match (the same checks as the API: sums, currency,
// nothing already matched), then reruns reconciliation incrementally so the
// exceptions it settles are resolved at once.
func (s *Service) apiManualMatch(w http.ResponseWriter, r *http.Request, sess Session) error {
	var in reconsvc.ManualMatchInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.Recon.ManualMatch(r.Context(), sess.PartnerID, sess.CompanyID, in)
	if err != nil {
		return err
	}
	if _, err := s.Recon.Reconcile(r.Context(), sess.PartnerID, sess.CompanyID, false); err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusCreated, m)
}

func (s *Service) apiUnmatch(w http.ResponseWriter, r *http.Request, sess Session) error {
	m, err := s.Recon.Unmatch(r.Context(), sess.PartnerID, sess.CompanyID, r.PathValue("match_id"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, m)
}
