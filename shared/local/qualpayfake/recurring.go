package qualpayfake

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/shared/qualpay"
)

// Recurring Billing (plans, subscriptions and their transactions) and the
// Account Updater reports, with Qualpay's documented rules:
//   - a plan_code is unique per merchant; a subscription needs an active plan
//     (AddSubscriptionRequest.plan_code: "Plan should be active and a valid
//     recurring plan") and bills the customer's primary card unless card_id
//     names another card of that customer (AddSubscriptionRequest.card_id);
//   - only active subscriptions can be paused; paused or suspended ones can be
//     resumed; active, paused or suspended ones can be cancelled, and a
//     cancelled one cannot be resumed (pauseSubscription, resumeSubscription,
//     cancelSubscription descriptions in the spec);
//   - the Account Updater harvests vault cards, updates the card on file itself
//     and reports each card in /reporting/aus/detail (reason 201 new expiry,
//     202 new number) and each request in /reporting/aus/summary; it places
//     cards on hold for 203 (closed) and 204 (contact cardholder)
//     (https://help.qualpay.com/help/account-updater-overview), and announces a
//     completed request with the account_updater_request_completed webhook
//     event (createAusRequest description in the spec).
//
// Handlers are registered from this file's init, which runs after fake.go's
// (Go runs a package's init functions in file-name order).

func init() {
	for op, h := range map[string]handler{
		"addPlan":                     (*Fake).addPlan,
		"browsePlans":                 (*Fake).browsePlans,
		"addSubscription":             (*Fake).addSubscriptionOp,
		"getSubscription":             (*Fake).getSubscription,
		"pauseSubscription":           subscriptionAction(qualpay.ActionPause),
		"resumeSubscription":          subscriptionAction(qualpay.ActionResume),
		"cancelSubscription":          subscriptionAction(qualpay.ActionCancel),
		"getSubscriptionTransactions": (*Fake).getSubscriptionTransactions,
		"browseAusRequests":           reportHandler(ausDetailRoute),
		"browseAusSummary":            reportHandler(ausSummaryRoute),
	} {
		handlers[op] = h
	}
}

const (
	ausDetailRoute  = "/reporting/aus/detail"
	ausSummaryRoute = "/reporting/aus/summary"
)

type plan struct {
	qualpay.Plan
	seq int64
}

var planCodeRe = regexp.MustCompile(`^[A-Za-z0-9]{1,16}$`)

func (f *Fake) plansOf(merchantID int64) map[string]*plan {
	if f.plans == nil {
		f.plans = map[int64]map[string]*plan{}
	}
	if f.plans[merchantID] == nil {
		f.plans[merchantID] = map[string]*plan{}
	}
	return f.plans[merchantID]
}

func (f *Fake) addPlan(_ map[string]string, _ url.Values, body []byte) (int, any) {
	var in struct {
		qualpay.PlanInput
		MerchantID int64 `json:"merchant_id"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request")
	}
	m, msg := f.merchantFor(in.MerchantID)
	if m == nil {
		return bad("%s", msg)
	}
	if !planCodeRe.MatchString(in.PlanCode) {
		return bad("plan_code must be up to 16 letters and digits")
	}
	plans := f.plansOf(m.ID)
	if _, dup := plans[in.PlanCode]; dup {
		return bad("Plan code %s already exists", in.PlanCode)
	}
	if in.PlanDuration == 0 || in.PlanDuration < -1 {
		return bad("plan_duration must be a number of billing cycles, or -1 to bill until cancelled")
	}
	if in.AmtTran.IsZero() {
		return bad("amt_tran is required")
	}
	cur := in.TranCurrency
	if cur == "" {
		cur = "840" // spec default
	}
	interval := in.Interval
	if interval == 0 {
		interval = 1 // spec default
	}
	f.seq++
	now := f.now().UTC().Format(time.RFC3339)
	p := &plan{Plan: qualpay.Plan{MerchantID: m.ID, PlanID: 500 + f.seq, PlanCode: in.PlanCode, PlanName: in.PlanName,
		PlanDesc: in.PlanDesc, PlanFrequency: in.PlanFrequency, Interval: interval, PlanDuration: in.PlanDuration,
		Status: qualpay.PlanActive, AmtTran: in.AmtTran, TranCurrency: cur, DBTimestamp: now, ModTimestamp: now}, seq: f.seq}
	plans[in.PlanCode] = p
	return success(p.Plan)
}

func (f *Fake) browsePlans(_ map[string]string, q url.Values, _ []byte) (int, any) {
	m, msg := f.merchantFor(queryMerchant(q))
	if m == nil {
		return bad("%s", msg)
	}
	var rows []row
	for _, p := range f.plansOf(m.ID) {
		rows = append(rows, mustRow(p.Plan, p.seq))
	}
	return f.browse("/plan", rows, q, "plan_code", "asc")
}

func (f *Fake) addSubscriptionOp(_ map[string]string, _ url.Values, body []byte) (int, any) {
	var in struct {
		qualpay.SubscriptionInput
		MerchantID int64 `json:"merchant_id"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("Invalid request")
	}
	m, c, msg := f.lookup(in.MerchantID, in.CustomerID)
	if c == nil {
		return bad("%s", msg)
	}
	p := f.plansOf(m.ID)[in.PlanCode]
	if p == nil || p.Status != qualpay.PlanActive {
		return bad("Plan %s is not an active recurring plan", in.PlanCode)
	}
	start, err := time.Parse(time.DateOnly, in.DateStart)
	if err != nil {
		return bad("date_start must be YYYY-MM-DD")
	}
	cardID := in.CardID
	if cardID == "" {
		for _, cd := range c.cards {
			if cd.primary {
				cardID = cd.id
			}
		}
	}
	if cardID == "" || f.findCard(c, cardID) == nil {
		return bad("Customer %s has no payment method %q", in.CustomerID, cardID)
	}
	f.seq++
	s := qualpay.Subscription{
		SubscriptionID: 1000 + f.seq, MerchantID: m.ID, CustomerID: in.CustomerID, CardID: cardID,
		Status: qualpay.SubActive, PlanID: p.PlanID, PlanCode: p.PlanCode, PlanName: p.PlanName, PlanDesc: p.PlanDesc,
		OnPlan: true, DateStart: in.DateStart, DateNext: in.DateStart, RecurAmt: p.AmtTran, TranCurrency: p.TranCurrency,
	}
	if p.PlanDuration > 0 {
		s.DateEnd = advance(start, p.PlanFrequency, p.Interval, p.PlanDuration-1).Format(time.DateOnly)
	}
	f.subs[s.SubscriptionID] = &subscription{Subscription: s, seq: f.seq}
	return success(s)
}

// advance moves t by n billing cycles of the plan's frequency.
func advance(t time.Time, freq, interval, n int) time.Time {
	if interval < 1 {
		interval = 1
	}
	switch freq {
	case qualpay.FreqWeekly:
		return t.AddDate(0, 0, 7*interval*n)
	case qualpay.FreqBiWeekly:
		return t.AddDate(0, 0, 14*n)
	case qualpay.FreqQuarterly:
		return t.AddDate(0, 3*n, 0)
	case qualpay.FreqBiAnnually:
		return t.AddDate(0, 6*n, 0)
	case qualpay.FreqAnnually:
		return t.AddDate(n, 0, 0)
	case qualpay.FreqDaily:
		return t.AddDate(0, 0, n)
	default:
		return t.AddDate(0, interval*n, 0)
	}
}

func (f *Fake) subscriptionFor(p map[string]string, merchantID int64) (*subscription, string) {
	id, _ := strconv.ParseInt(p["subscription_id"], 10, 64)
	s, ok := f.subs[id]
	if !ok || (merchantID != 0 && s.MerchantID != merchantID) {
		return nil, fmt.Sprintf("Subscription %s not found", p["subscription_id"])
	}
	return s, ""
}

func (f *Fake) getSubscription(p map[string]string, q url.Values, _ []byte) (int, any) {
	if m, msg := f.merchantFor(queryMerchant(q)); m == nil {
		return bad("%s", msg)
	}
	s, msg := f.subscriptionFor(p, queryMerchant(q))
	if s == nil {
		return bad("%s", msg)
	}
	return success(s.Subscription)
}

func subscriptionAction(action string) handler {
	return func(f *Fake, p map[string]string, _ url.Values, body []byte) (int, any) {
		var in struct {
			CustomerID string `json:"customer_id"`
			MerchantID int64  `json:"merchant_id"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return bad("Invalid request")
		}
		if m, msg := f.merchantFor(in.MerchantID); m == nil {
			return bad("%s", msg)
		}
		s, msg := f.subscriptionFor(p, in.MerchantID)
		if s == nil || s.CustomerID != in.CustomerID {
			if s != nil {
				msg = fmt.Sprintf("Subscription %d does not belong to customer %s", s.SubscriptionID, in.CustomerID)
			}
			return bad("%s", msg)
		}
		switch {
		case action == qualpay.ActionPause && s.Status == qualpay.SubActive:
			s.Status = qualpay.SubPaused
		case action == qualpay.ActionResume && (s.Status == qualpay.SubPaused || s.Status == qualpay.SubSuspended):
			s.Status = qualpay.SubActive
		case action == qualpay.ActionCancel && s.Live():
			s.Status = qualpay.SubCancelled
		default:
			return bad("Subscription %d with status %s cannot be %s", s.SubscriptionID, s.Status, pastTense[action])
		}
		return success(s.Subscription)
	}
}

var pastTense = map[string]string{qualpay.ActionPause: "paused", qualpay.ActionResume: "resumed", qualpay.ActionCancel: "cancelled"}

func (f *Fake) getSubscriptionTransactions(p map[string]string, q url.Values, _ []byte) (int, any) {
	if m, msg := f.merchantFor(queryMerchant(q)); m == nil {
		return bad("%s", msg)
	}
	s, msg := f.subscriptionFor(p, queryMerchant(q))
	if s == nil {
		return bad("%s", msg)
	}
	rows := append([]row(nil), f.subTrans[s.SubscriptionID]...)
	return f.browse("/subscription/transactions/{subscription_id}", rows, q, "tran_time", "asc")
}

// BillSubscription runs one billing cycle of a live, active subscription the
// way Qualpay's engine does: an approved sale on its card for the recurring
// amount, dated today, and the next billing date moves one cycle on.
func (f *Fake) BillSubscription(id int64) (qualpay.Transaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subs[id]
	if !ok {
		return qualpay.Transaction{}, fmt.Errorf("qualpayfake: no subscription %d", id)
	}
	if s.Status != qualpay.SubActive {
		return qualpay.Transaction{}, fmt.Errorf("qualpayfake: subscription %d is %s, not active", id, s.Status)
	}
	c, err := f.customerLocked(s.MerchantID, s.CustomerID)
	if err != nil {
		return qualpay.Transaction{}, err
	}
	cd := f.findCard(c, s.CardID)
	if cd == nil {
		return qualpay.Transaction{}, fmt.Errorf("qualpayfake: card %s is gone", s.CardID)
	}
	f.seq++
	now := f.now().UTC()
	t := qualpay.Transaction{MerchantID: s.MerchantID, TranTime: now.Format(time.DateTime), TranDate: now.Format(time.DateOnly),
		TranStatus: "A", AuthCode: "T" + strconv.FormatInt(f.seq%100000, 10), RCode: "000", CardNumber: cd.masked, CardType: cd.cardType,
		PgID: fmt.Sprintf("%032x", f.seq), AmtTran: s.RecurAmt, TranCurrency: s.TranCurrency, CustomerID: s.CustomerID,
		SubscriptionID: strconv.FormatInt(s.SubscriptionID, 10)}
	if f.subTrans == nil {
		f.subTrans = map[int64][]row{}
	}
	f.subTrans[id] = append(f.subTrans[id], mustRow(t, f.seq))
	if next, err := time.Parse(time.DateOnly, s.DateNext); err == nil {
		p := f.plansOf(s.MerchantID)[s.PlanCode]
		freq, interval := qualpay.FreqMonthly, 1
		if p != nil {
			freq, interval = p.PlanFrequency, p.Interval
		}
		s.DateNext = advance(next, freq, interval, 1).Format(time.DateOnly)
	}
	return t, nil
}

// AccountUpdaterResult is one card's outcome in an Account Updater harvest.
type AccountUpdaterResult struct {
	CustomerID, CardID string
	// NewExp (MMYY) and NewPAN (a test card number) are the updates; both empty
	// with Reason "203" or "204" is a card placed on hold.
	NewExp, NewPAN string
	Reason         string // 201, 202, 203, 204 (default: 202 with NewPAN, else 201)
}

// RunAccountUpdater completes one Account Updater request for the merchant:
// Qualpay updates each card on file, then reports every card in
// /reporting/aus/detail and the request in /reporting/aus/summary. It returns
// the request_id; the caller delivers the account_updater_request_completed
// webhook (the fake does not send webhooks).
func (f *Fake) RunAccountUpdater(merchantID int64, results ...AccountUpdaterResult) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	reqID := 9000 + f.seq
	today := f.now().UTC().Format(time.DateOnly)
	var details []any
	updated := 0
	for _, r := range results {
		c, err := f.customerLocked(merchantID, r.CustomerID)
		if err != nil {
			return 0, err
		}
		cd := f.findCard(c, r.CardID)
		if cd == nil {
			return 0, fmt.Errorf("qualpayfake: card %s not found", r.CardID)
		}
		d := qualpay.AusDetail{MerchantID: merchantID, RequestID: reqID, RequestDate: today, ResponseDate: today,
			CardID: cd.id, CardNumber: cd.masked, ExpDate: cd.exp, ReasonCode: r.Reason}
		if r.NewPAN != "" {
			cd.masked, cd.cardType = mask(r.NewPAN), cardType(r.NewPAN)
			d.CardNumberNew = cd.masked
		}
		if r.NewExp != "" {
			cd.exp = r.NewExp
			d.ExpDateNew = r.NewExp
		}
		if d.ReasonCode == "" {
			d.ReasonCode = "201"
			if r.NewPAN != "" {
				d.ReasonCode = "202"
			}
		}
		d.Billable = d.ReasonCode >= "201" && d.ReasonCode <= "204"
		if d.CardNumberNew != "" || d.ExpDateNew != "" {
			updated++
		}
		details = append(details, d)
	}
	for _, d := range details {
		f.seq++
		f.reports[ausDetailRoute] = append(f.reports[ausDetailRoute], mustRow(d, f.seq))
	}
	f.seq++
	f.reports[ausSummaryRoute] = append(f.reports[ausSummaryRoute], mustRow(qualpay.AusSummary{RequestID: reqID, MerchantID: merchantID,
		Status: "COMPLETED", CntRequest: len(results), CntResponse: len(results), CntUpdate: updated, RequestDate: today}, f.seq))
	return reqID, nil
}
