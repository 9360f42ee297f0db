package reconsvc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// Summary is what a run did.
type Summary struct {
	Matched          int       `json:"matched" dynamodbav:"matched"`
	NewExceptions    int       `json:"new_exceptions" dynamodbav:"new_exceptions"`
	OpenExceptions   int       `json:"open_exceptions" dynamodbav:"open_exceptions"` // in the run's scope
	Resolved         int       `json:"resolved_exceptions" dynamodbav:"resolved_exceptions"`
	Unchanged        int       `json:"unchanged" dynamodbav:"unchanged"` // exceptions found again as they were
	Waiting          int       `json:"waiting" dynamodbav:"waiting"`
	Conflicts        int       `json:"conflicts" dynamodbav:"conflicts"` // matches skipped: data changed under the run
	BankTransactions int       `json:"bank_transactions_considered" dynamodbav:"bank_transactions_considered"`
	Payouts          int       `json:"payouts_considered" dynamodbav:"payouts_considered"`
	ChangedPayouts   int       `json:"payouts_changed" dynamodbav:"payouts_changed"`
	From             string    `json:"from,omitempty" dynamodbav:"from,omitempty"` // earliest date considered; "" = everything
	RanAt            time.Time `json:"ran_at" dynamodbav:"ran_at"`
}

// gsiLag is how long after the last change a run keeps the company due, since
// gsi1 (which lists open lines) is only eventually consistent.
const gsiLag = 30 * time.Second

// Reconcile runs the matcher for one company over what may have changed: open
// lines and payouts from a horizon before the earliest changed date (everything
// when full, or on the first run), writes matches, journal entries and
// exceptions, and clears the company's due marker. Runs are idempotent (a second
// run writes nothing) and safe to retry after a crash: each match is one
// conditional transaction, exceptions are keyed by content.
func (s *Service) Reconcile(ctx context.Context, pid, cid string, full bool) (Summary, error) {
	start := s.now()
	today := recon.DateFromTime(start)
	cfg := s.cfg(today)
	pk := store.CompanyPK(pid, cid)
	var st state
	if err := s.Store.Get(ctx, pk, skState, &st); err != nil && !errors.Is(err, store.ErrNotFound) {
		return Summary{}, err
	}
	full = full || st.LastRunAt.IsZero()
	margin := 2*(cfg.Before+cfg.After) + cfg.ReturnWindow + 2
	base := today
	if d, err := recon.ParseDate(st.DirtyFrom); err == nil && d < base {
		base = d
	}

	// Payouts that changed since the last run: markers, and the listing fallback.
	changed, markers, err := s.changedPayouts(ctx, pid, cid, st)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{RanAt: start, ChangedPayouts: len(changed)}
	for _, p := range changed {
		if d, err := recon.ParseDate(p.ArrivalDate); err == nil && d < base {
			base = d
		}
		if err := s.syncPayout(ctx, p); err != nil {
			return sum, err
		}
	}
	// What a run reads: open payouts and money-in lines from the horizon (a
	// margin of windows before the earliest change), and money-out lines only
	// from the earliest changed date: they can pair with nothing but negative
	// or failed payouts, so older ones are read only when such a payout is
	// open. Already-matched lines and payouts are never read (they leave the
	// open index when matched).
	horizon, outFrom := "", ""
	if !full {
		horizon = cfg.Calendar.AddBusinessDays(base, -margin).String()
		outFrom = max(horizon, min(today.String(), first(st.DirtyFrom, today.String())))
	}
	sum.From = horizon

	views, err := queryAll[payoutView](ctx, s.Store, store.Query{PK: openPayoutsPK(pk), Index: store.GSI1, SKFrom: first(horizon, "0"), SKTo: "~", Limit: 1000}, 0)
	if err != nil {
		return sum, fmt.Errorf("read open payouts: %w", err)
	}
	for _, v := range views {
		if v.MatchID == "" && (v.Amount < 0 || v.Status == payouts.StatusFailed || v.Status == payouts.StatusCanceled) {
			outFrom = horizon
		}
	}
	lines, err := queryAll[lineItem](ctx, s.Store, store.Query{PK: openLinesPK(pk), Index: store.GSI1, SKFrom: first(horizon, "0"), SKTo: "~", Limit: 1000}, 0)
	if err != nil {
		return sum, fmt.Errorf("read open bank transactions: %w", err)
	}
	outs, err := queryAll[lineItem](ctx, s.Store, store.Query{PK: openOutLinesPK(pk), Index: store.GSI1, SKFrom: first(outFrom, "0"), SKTo: "~", Limit: 1000}, 0)
	if err != nil {
		return sum, fmt.Errorf("read open bank transactions: %w", err)
	}
	lines = append(lines, outs...)
	accts, err := queryAll[accountItem](ctx, s.Store, store.Query{PK: pk, SKPrefix: skAccount, Limit: 100}, 1000)
	if err != nil {
		return sum, err
	}
	in := recon.Input{Lines: make([]recon.BankLine, 0, len(lines)), Payouts: make([]payouts.Payout, 0, len(views))}
	byLine := make(map[string]lineItem, len(lines))
	for _, it := range lines {
		if it.MatchID != "" || it.Pending { // the index lags a just-written change
			continue
		}
		in.Lines = append(in.Lines, it.line())
		byLine[it.ID] = it
	}
	byPayout := make(map[string]payoutView, len(views))
	for _, v := range views {
		if v.MatchID != "" {
			continue
		}
		in.Payouts = append(in.Payouts, v.payout())
		byPayout[v.ID] = v
	}
	for _, a := range accts {
		if a.Currency != "" {
			in.Currencies = append(in.Currencies, a.Currency)
		}
	}
	sum.BankTransactions, sum.Payouts = len(in.Lines), len(in.Payouts)
	res, err := recon.Run(in, cfg)
	if err != nil {
		return sum, err
	}

	chart, err := s.accounts(ctx, pid, cid)
	if err != nil {
		return sum, err
	}
	extra := []recon.Exception{}
	for _, m := range res.Matches {
		lns := make([]recon.BankLine, len(m.LineIDs))
		for i, id := range m.LineIDs {
			lns[i] = byLine[id].line()
		}
		pays := make([]payouts.Payout, len(m.PayoutIDs))
		for i, id := range m.PayoutIDs {
			pays[i] = byPayout[id].payout()
		}
		err := s.book(ctx, pid, cid, m, lns, pays, chart, "reconcile")
		var bad *bookError
		switch {
		case errors.As(err, &bad):
			// The items on file do not add up after all: say so instead of booking.
			extra = append(extra, recon.Exception{Key: recon.ReasonItemisationIncomplete + ":" + m.LineIDs[0] + "|" + m.PayoutIDs[0],
				Reason: recon.ReasonItemisationIncomplete, LineIDs: m.LineIDs, PayoutIDs: m.PayoutIDs, Amount: m.Amount,
				Currency: m.Currency, Date: m.Date, Message: bad.Error()})
		case errors.Is(err, store.ErrConditionFailed):
			sum.Conflicts++
		case err != nil:
			return sum, err
		default:
			sum.Matched++
		}
	}
	if err := s.writeExceptions(ctx, pid, cid, horizon, outFrom, byLine, append(res.Exceptions, extra...), &sum); err != nil {
		return sum, err
	}
	for _, m := range markers {
		cond := "#at = :at"
		av, _ := store.Values(map[string]any{":at": m.At})
		_, err := s.Store.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.Store.Table), Key: store.Key(pk, m.SK), ConditionExpression: &cond,
			ExpressionAttributeNames: map[string]string{"#at": "at"}, ExpressionAttributeValues: av,
		})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) { // a newer marker stays for the next run
			return sum, fmt.Errorf("clear payout marker: %w", err)
		}
	}
	sum.Waiting = len(res.Waiting.LineIDs) + len(res.Waiting.PayoutIDs)
	return sum, s.finishRun(ctx, pid, cid, st, start, cfg, res.Waiting, byLine, byPayout, sum)
}

// changedPayouts returns the payouts to refresh: those with a change marker, and
// (when ScanPayouts) the paid ones listed as updated since the last run.
func (s *Service) changedPayouts(ctx context.Context, pid, cid string, st state) ([]payouts.Payout, []changeItem, error) {
	pk := store.CompanyPK(pid, cid)
	markers, err := queryAll[changeItem](ctx, s.Store, store.Query{PK: pk, SKPrefix: skChange, Limit: 500}, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read payout markers: %w", err)
	}
	seen := map[string]bool{}
	var out []payouts.Payout
	for _, m := range markers {
		p, err := s.Payouts.Get(ctx, pid, cid, m.PayoutID)
		if err != nil {
			continue // gone or not readable: nothing to reconcile
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	if s.ScanPayouts {
		since := st.PayoutsSeenAt.Add(-5 * time.Minute) // clock skew between writers
		if st.PayoutsSeenAt.IsZero() {
			since = time.Time{}
		}
		list, err := s.Payouts.ListPaid(ctx, pid, cid, since)
		if err != nil {
			return nil, nil, fmt.Errorf("list payouts: %w", err)
		}
		for _, p := range list {
			if !seen[p.ID] {
				seen[p.ID] = true
				out = append(out, p)
			}
		}
	}
	slices.SortFunc(out, func(a, b payouts.Payout) int { return cmpStr(a.ID, b.ID) })
	return out, markers, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// syncPayout refreshes reconciliation's view of p. A matched payout that failed
// or whose amount changed is unmatched first (its entries reversed).
func (s *Service) syncPayout(ctx context.Context, p payouts.Payout) error {
	pk := store.CompanyPK(p.PartnerID, p.CompanyID)
	for attempt := 0; attempt < 3; attempt++ {
		var old payoutView
		err := s.Store.Get(ctx, pk, skPayout+p.ID, &old)
		had := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if had && old.sameSource(p) {
			return nil
		}
		v := newPayoutView(p)
		if had && old.MatchID != "" {
			broken := p.Status == payouts.StatusFailed || p.Status == payouts.StatusCanceled ||
				p.Amount != old.Amount || p.Currency != old.Currency
			if broken {
				if err := s.unmatch(ctx, p.PartnerID, p.CompanyID, old.MatchID, "payout "+p.ID+" is now "+p.Status, "", false); err != nil {
					return err
				}
				continue // re-read the reopened view
			}
			v.MatchID = old.MatchID
			v.setOpen()
		}
		if p.Status == payouts.StatusFailed && (!had || old.Status != payouts.StatusFailed) {
			if err := s.bookFailed(ctx, p); err != nil {
				return err
			}
		}
		cond, values := "attribute_not_exists(match_id)", map[string]any(nil)
		if v.MatchID != "" {
			cond, values = "match_id = :m", map[string]any{":m": v.MatchID}
		}
		err = s.Store.PutIf(ctx, v, cond, values)
		if errors.Is(err, store.ErrConditionFailed) {
			continue // matched or unmatched meanwhile: look again
		}
		return err
	}
	return fmt.Errorf("payout %s keeps changing under the run", p.ID)
}

// bookFailed books a failed payout's items into its clearing account once (the
// funds went back to the processor balance and reach the bank inside a later
// payout, whose payout-failure item books nothing). It is kept as a record of
// kind "failed_payout" with no bank line, listed with the matches.
func (s *Service) bookFailed(ctx context.Context, p payouts.Payout) error {
	items, err := s.Payouts.Items(ctx, p.PartnerID, p.CompanyID, p.ID)
	if err != nil {
		return fmt.Errorf("items of failed payout %s: %w", p.ID, err)
	}
	p.Items = items
	chart, err := s.accounts(ctx, p.PartnerID, p.CompanyID)
	if err != nil {
		return err
	}
	arr, _ := recon.ParseDate(p.ArrivalDate)
	entries, err := recon.JournalFailedPayout(p, arr, chart)
	if err != nil {
		// Not itemised (yet): nothing to book; the payout's own exception says so.
		s.Log.WarnContext(ctx, "failed payout not booked", "payout_id", p.ID, "err", err)
		return nil
	}
	rec := Match{
		PartnerID: p.PartnerID, CompanyID: p.CompanyID, ID: "fp_" + p.ID, Kind: KindFailedPayout, Rule: "failed_payout",
		BankTransactionIDs: []string{}, PayoutIDs: []string{p.ID}, Amount: p.Amount, Currency: p.Currency,
		Date: p.ArrivalDate, Status: MatchActive, EntryCount: len(entries), LineCount: lineCount(entries),
		CreatedBy: "reconcile", CreatedAt: s.now(),
	}
	rec.PK, rec.SK = store.CompanyPK(p.PartnerID, p.CompanyID), skMatch+rec.ID
	// The ID is the payout's, so a retry rewrites the same chunks before the header.
	if _, err := s.writeChunks(ctx, &rec, entries, nil); err != nil {
		return err
	}
	// Listed with the matches, so announced as one (match.created), once: the
	// header is conditional on not existing.
	put, err := s.Store.PutInput(rec, "attribute_not_exists(pk)", nil)
	if err != nil {
		return err
	}
	ev, err := outbox.Emit(s.Store.Table, s.IDs, rec.CreatedAt, outbox.MatchCreated, p.PartnerID, p.CompanyID, rec.ID, rec)
	if err != nil {
		return err
	}
	if err := s.Store.Transact(ctx, []types.TransactWriteItem{store.TxPut(put), ev}); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("book failed payout %s: %w", p.ID, err)
	}
	return nil
}

// KindFailedPayout is the kind of the record booking a failed payout's items.
const KindFailedPayout = "failed_payout"

// finishRun saves the run state: the company stays due when data changed during
// the run (or too recently for the index), else it is due again only when a
// waiting item's window will have passed.
func (s *Service) finishRun(ctx context.Context, pid, cid string, st state, start time.Time, cfg recon.Config,
	w recon.Waiting, byLine map[string]lineItem, byPayout map[string]payoutView, sum Summary) error {
	pk := store.CompanyPK(pid, cid)
	var wakeDate, oldest recon.Date
	tomorrow := recon.DateFromTime(start).AddDays(1)
	note := func(d recon.Date, after int) {
		if d.IsZero() {
			return
		}
		// Due again once the item's window has passed, and never before tomorrow
		// (an item waiting on something else, a bank return say, is looked at daily).
		wk := max(cfg.Calendar.AddBusinessDays(d, after+1), tomorrow)
		if wakeDate.IsZero() || wk < wakeDate {
			wakeDate = wk
		}
		if oldest.IsZero() || d < oldest {
			oldest = d
		}
	}
	for _, id := range w.LineIDs {
		d, _ := recon.ParseDate(byLine[id].Date)
		note(d, cfg.After)
	}
	for _, id := range w.PayoutIDs {
		d, _ := recon.ParseDate(byPayout[id].ArrivalDate)
		note(d, cfg.After)
	}
	values := map[string]any{":v": st.Version, ":run": start, ":sum": sum, ":lag": start.Add(-gsiLag)}
	set := "SET last_run_at = :run, payouts_seen_at = :run, last_summary = :sum, partner_id = :pid, company_id = :cid"
	values[":pid"], values[":cid"] = pid, cid
	expr := set
	if wakeDate.IsZero() {
		expr += " REMOVE dirty_from, gsi1pk, gsi1sk"
	} else {
		expr += ", dirty_from = :df, gsi1pk = :due, gsi1sk = :duesk"
		values[":df"], values[":due"] = oldest.String(), duePK(pid, cid)
		values[":duesk"] = wakeDate.String() + "#" + pid + "#" + cid
	}
	// reconciliation.completed goes out with the state write of a run that
	// changed something (a match, an exception opened or resolved); a run that
	// found everything as it was (a rerun, a scheduled pass) announces nothing.
	var extra []types.TransactWriteItem
	if sum.Matched+sum.NewExceptions+sum.Resolved > 0 {
		ev, err := outbox.Emit(s.Store.Table, s.IDs, s.now(), outbox.ReconciliationCompleted, pid, cid, cid, sum)
		if err != nil {
			return err
		}
		extra = append(extra, ev)
	}
	cond := "attribute_not_exists(version) OR (version = :v AND (attribute_not_exists(last_change_at) OR last_change_at < :lag))"
	err := s.updateState(ctx, pk, expr, cond, values, extra)
	if errors.Is(err, store.ErrConditionFailed) {
		// Something changed while we ran: keep it due, record the run.
		delete(values, ":df")
		delete(values, ":due")
		delete(values, ":duesk")
		delete(values, ":v")
		delete(values, ":lag")
		err = s.updateState(ctx, pk, set, "", values, extra)
	}
	return err
}

func (s *Service) updateState(ctx context.Context, pk, expr, cond string, values map[string]any, extra []types.TransactWriteItem) error {
	av, err := store.Values(values)
	if err != nil {
		return err
	}
	u := &types.Update{
		TableName: aws.String(s.Store.Table), Key: store.Key(pk, skState),
		UpdateExpression: aws.String(expr), ExpressionAttributeValues: av,
	}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	err = s.Store.UpdateWith(ctx, u, extra)
	if errors.Is(err, store.ErrConditionFailed) {
		return err
	}
	if err != nil {
		return fmt.Errorf("save reconcile state: %w", err)
	}
	return nil
}

// writeExceptions makes the stored open exceptions of the run's scope equal to
// found: new ones are written, changed ones rewritten, ones no longer found
// resolved, identical ones left alone (a second run writes nothing). An
// exception about an open money-out line the run did not read (older than
// outFrom) is left as it is: the run cannot tell whether it still holds.
func (s *Service) events() exceptions.Events { return exceptions.Events{IDs: s.IDs, Now: s.now} }

func (s *Service) writeExceptions(ctx context.Context, pid, cid, horizon, outFrom string, read map[string]lineItem, found []recon.Exception, sum *Summary) error {
	pk := store.CompanyPK(pid, cid)
	open, err := queryAll[Exception](ctx, s.Store, store.Query{PK: openExcPK(pk), Index: store.GSI1, SKFrom: first(horizon, "0"), SKTo: "~", Limit: 1000}, 0)
	if err != nil {
		return fmt.Errorf("read open exceptions: %w", err)
	}
	now := s.now()
	byID := make(map[string]Exception, len(open))
	for _, x := range open {
		byID[x.ID] = x
	}
	keep := map[string]bool{}
	for _, e := range found {
		x := newException(pid, cid, e, now)
		if keep[x.ID] {
			continue
		}
		keep[x.ID] = true
		sum.OpenExceptions++
		old, had := byID[x.ID]
		cond, values := "attribute_not_exists(pk)", map[string]any(nil)
		if !had {
			// It may exist resolved (or outside the scope): keep its first sighting.
			var prev Exception
			if err := s.Store.Get(ctx, pk, x.SK, &prev); err == nil {
				old, had = prev, prev.Status == ExceptionOpen
				x.FirstSeen = prev.FirstSeen
				cond, values = "#st = :st", map[string]any{":st": prev.Status}
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		} else {
			x.FirstSeen = old.FirstSeen
		}
		if had && sameContent(old, x) {
			sum.Unchanged++
			continue
		}
		if had {
			// Still open, its facts changed: rewritten, not announced again.
			if err := s.Store.Put(ctx, x); err != nil {
				return fmt.Errorf("write exception: %w", err)
			}
			continue
		}
		// Opened (or reopened): the exception and its event, only over the
		// state read, so a concurrent or repeated run cannot announce it twice.
		tx, err := exceptions.OpenTx(s.Store, s.events(), x, cond, values)
		if err != nil {
			return err
		}
		switch err := s.Store.Transact(ctx, tx); {
		case errors.Is(err, store.ErrConditionFailed):
			sum.Unchanged++
		case err != nil:
			return fmt.Errorf("write exception: %w", err)
		default:
			sum.NewExceptions++
		}
	}
	var unread []string
	for _, x := range open {
		for _, id := range x.BankTransactionIDs {
			if _, ok := read[id]; !ok && !keep[x.ID] {
				unread = append(unread, id)
			}
		}
	}
	notRead := map[string]bool{}
	if len(unread) > 0 {
		ls, err := s.getLines(ctx, pk, unread)
		if err != nil {
			return err
		}
		for id, it := range ls {
			notRead[id] = !it.Pending && it.MatchID == "" && it.Amount < 0 && it.Date < outFrom
		}
	}
	for _, x := range open {
		if keep[x.ID] || x.Source != "" || slices.ContainsFunc(x.BankTransactionIDs, func(id string) bool { return notRead[id] }) {
			continue
		}
		tx, _, err := exceptions.ResolveTx(s.Store, s.events(), x)
		if err != nil {
			return err
		}
		if err := s.Store.Transact(ctx, tx); errors.Is(err, store.ErrConditionFailed) {
			continue // resolved meanwhile
		} else if err != nil {
			return fmt.Errorf("resolve exception %s: %w", x.ID, err)
		}
		sum.Resolved++
	}
	return nil
}
