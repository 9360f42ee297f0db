package reconsvc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// bookError means a match's data does not add up (items, sums): nothing is written.
type bookError struct{ err error }

func (e *bookError) Error() string { return e.err.Error() }
func (e *bookError) Unwrap() error { return e.err }

// maxEntryBytes keeps a match item well under DynamoDB's 400 KB: bigger journals
// are booked with one line per account and side instead of one per item.
const maxEntryBytes = 250 << 10

// book writes one match: the match with its journal entries, its lines and
// payouts marked matched, in one conditional transaction (ErrConditionFailed
// when any of them changed or got matched meanwhile). Then the invoices its
// payments paid move to reconciled.
func (s *Service) book(ctx context.Context, pid, cid string, m recon.Match, lines []recon.BankLine, pays []payouts.Payout,
	chart recon.AccountMap, by string) error {
	post := recon.Posting{Kind: m.Kind, Lines: lines, Payouts: pays}
	if m.Kind != recon.KindReturned {
		for i := range post.Payouts {
			items, err := s.Payouts.Items(ctx, pid, cid, pays[i].ID)
			if err != nil {
				return fmt.Errorf("items of payout %s: %w", pays[i].ID, err)
			}
			post.Payouts[i].Items = items
		}
	}
	entries, err := recon.Journal(post, chart)
	if err != nil {
		return &bookError{err}
	}
	if entrySize(entries) > maxEntryBytes {
		entries = compactEntries(entries)
	}
	now := s.now()
	pk := store.CompanyPK(pid, cid)
	rec := Match{
		PartnerID: pid, CompanyID: cid, ID: s.IDs.ID("mt"), Kind: m.Kind, Rule: m.Rule, Evidence: m.Evidence,
		BankTransactionIDs: m.LineIDs, PayoutIDs: m.PayoutIDs, Amount: m.Amount, Currency: m.Currency,
		Date: m.Date.String(), Status: MatchActive, InvoiceIDs: recon.InvoiceIDs(post.Payouts), Entries: entries,
		CreatedBy: by, CreatedAt: now,
	}
	rec.PK, rec.SK = pk, skMatch+rec.ID
	put, err := s.Store.PutInput(rec, "attribute_not_exists(pk)", nil)
	if err != nil {
		return err
	}
	tx := []types.TransactWriteItem{store.TxPut(put)}
	for _, l := range lines {
		tx = append(tx, s.setMatch(pk, skLine+l.ID, rec.ID, "attribute_exists(pk) AND attribute_not_exists(match_id) AND amount = :amt AND pending = :f",
			map[string]any{":amt": l.Amount, ":f": false}))
	}
	for _, p := range pays {
		tx = append(tx, s.setMatch(pk, skPayout+p.ID, rec.ID, "attribute_exists(pk) AND attribute_not_exists(match_id) AND amount = :amt",
			map[string]any{":amt": p.Amount}))
	}
	if err := s.Store.Transact(ctx, tx); err != nil {
		return err
	}
	s.invoicePayments(ctx, pid, cid, rec.ID, post.Payouts, true)
	return nil
}

// invoicePayments tells the invoice store which invoice payments are now in a
// matched payout (or, on unmatch, no longer are). Best effort: the match
// stands (or is reversed) either way, and the next match of the payouts retries.
func (s *Service) invoicePayments(ctx context.Context, pid, cid, matchID string, pays []payouts.Payout, matched bool) {
	if s.Invoices == nil {
		return
	}
	var refs []invoices.PaymentRef
	for _, po := range pays {
		for _, it := range po.Items {
			if it.InvoiceID != "" && (it.Type == payouts.ItemCharge || it.Type == payouts.ItemPayment) {
				refs = append(refs, invoices.PaymentRef{InvoiceID: it.InvoiceID, PaymentID: firstOf(it.PaymentID, it.SourceID)})
			}
		}
	}
	if len(refs) == 0 {
		return
	}
	if err := s.Invoices.PaymentsMatched(ctx, pid, cid, refs, matched); err != nil {
		s.Log.WarnContext(ctx, "invoices not moved with their payments", "match_id", matchID, "matched", matched, "err", err)
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Service) setMatch(pk, sk, matchID, cond string, values map[string]any) types.TransactWriteItem {
	values[":m"] = matchID
	av, _ := store.Values(values)
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.Store.Table), Key: store.Key(pk, sk),
		UpdateExpression:    aws.String("SET match_id = :m REMOVE gsi1pk, gsi1sk"),
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: av,
	}}
}

func entrySize(es []recon.Entry) int {
	n := 0
	for _, e := range es {
		n += 80 + len(e.Memo)
		for _, l := range e.Lines {
			n += 60 + len(l.Account) + len(l.PayoutID) + len(l.SourceID) + len(l.PaymentID) + len(l.InvoiceID) + len(l.BankTransactionID) + len(l.Memo)
		}
	}
	return n
}

// compactEntries keeps each entry but merges its lines to one per account and
// side (still balanced: the sums do not change).
func compactEntries(es []recon.Entry) []recon.Entry {
	out := make([]recon.Entry, len(es))
	for i, e := range es {
		type k struct {
			acct  string
			debit bool
		}
		sums := map[k]int64{}
		counts := map[k]int{}
		var order []k
		for _, l := range e.Lines {
			key := k{l.Account, l.Debit != 0}
			if _, ok := sums[key]; !ok {
				order = append(order, key)
			}
			sums[key] += l.Debit + l.Credit
			counts[key]++
		}
		e.Lines = nil
		for _, key := range order {
			l := recon.EntryLine{Account: key.acct, PayoutID: e.PayoutID, Memo: fmt.Sprintf("%d line(s) combined", counts[key])}
			if key.debit {
				l.Debit = sums[key]
			} else {
				l.Credit = sums[key]
			}
			e.Lines = append(e.Lines, l)
		}
		out[i] = e
	}
	return out
}

// unmatch reverses a match: it is kept, marked reversed, with reversing entries
// appended; its lines and payouts are open again (or, with removeLine, that line
// is deleted: the bank took it back). One conditional transaction.
func (s *Service) unmatch(ctx context.Context, pid, cid, matchID, reason, lineID string, removeLine bool) error {
	pk := store.CompanyPK(pid, cid)
	var m Match
	if err := s.Store.Get(ctx, pk, skMatch+matchID, &m); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return apperr.New(apperr.NotFound, "match not found")
		}
		return err
	}
	if m.Kind == KindFailedPayout {
		return apperr.New(apperr.Conflict, "%s books a failed payout; it is not a match", matchID)
	}
	if m.Status != MatchActive {
		if removeLine {
			return s.Store.Delete(ctx, pk, skLine+lineID)
		}
		return apperr.New(apperr.Conflict, "match %s is already reversed", matchID)
	}
	now := s.now()
	rev := recon.Reverse(m.Entries, recon.DateFromTime(now))
	for i := range rev {
		rev[i].Memo += " (" + clip(reason, 200) + ")"
	}
	revAV, err := store.Marshal(struct {
		E []recon.Entry `dynamodbav:"e"`
	}{rev})
	if err != nil {
		return err
	}
	values, err := store.Values(map[string]any{":r": MatchReversed, ":a": MatchActive, ":now": now})
	if err != nil {
		return err
	}
	values[":rev"] = revAV["e"]
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.Store.Table), Key: store.Key(pk, skMatch+matchID),
		UpdateExpression:          aws.String("SET #st = :r, reversed_at = :now, entries = list_append(entries, :rev)"),
		ConditionExpression:       aws.String("#st = :a"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	}}}
	lines, err := s.getLines(ctx, pk, slices.Clone(m.BankTransactionIDs))
	if err != nil {
		return err
	}
	earliest := recon.DateFromTime(now)
	for _, id := range m.BankTransactionIDs {
		it, ok := lines[id]
		if !ok {
			continue // already gone from the feed
		}
		if d := it.line().Date; d < earliest {
			earliest = d
		}
		if removeLine && id == lineID {
			tx = append(tx, s.Store.TxDelete(pk, skLine+id, ""))
			continue
		}
		tx = append(tx, s.reopen(pk, skLine+id, matchID, openLinesPK(pk), it.Date+"#"+id))
	}
	for _, id := range m.PayoutIDs {
		var v payoutView
		if err := s.Store.Get(ctx, pk, skPayout+id, &v); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return err
		}
		if d, err := recon.ParseDate(v.ArrivalDate); err == nil && d < earliest {
			earliest = d
		}
		tx = append(tx, s.reopen(pk, skPayout+id, matchID, openPayoutsPK(pk), v.ArrivalDate+"#"+id))
	}
	if err := s.Store.Transact(ctx, tx); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return apperr.New(apperr.Conflict, "match %s changed meanwhile; try again", matchID)
		}
		return fmt.Errorf("reverse match %s: %w", matchID, err)
	}
	if len(m.InvoiceIDs) > 0 && s.Invoices != nil && s.Payouts != nil {
		pays := make([]payouts.Payout, 0, len(m.PayoutIDs))
		for _, id := range m.PayoutIDs {
			items, err := s.Payouts.Items(ctx, pid, cid, id)
			if err != nil {
				s.Log.WarnContext(ctx, "payout items not read for invoices", "payout_id", id, "err", err)
				continue
			}
			pays = append(pays, payouts.Payout{ID: id, Items: items})
		}
		s.invoicePayments(ctx, pid, cid, matchID, pays, false)
	}
	return markDirty(ctx, s.Store, pid, cid, earliest, now)
}

func (s *Service) reopen(pk, sk, matchID, gpk, gsk string) types.TransactWriteItem {
	av, _ := store.Values(map[string]any{":m": matchID, ":g": gpk, ":gs": gsk})
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.Store.Table), Key: store.Key(pk, sk),
		UpdateExpression:    aws.String("SET gsi1pk = :g, gsi1sk = :gs REMOVE match_id"),
		ConditionExpression: aws.String("match_id = :m"), ExpressionAttributeValues: av,
	}}
}

// Unmatch reverses a match by hand (DELETE /matches/{id}).
func (s *Service) Unmatch(ctx context.Context, pid, cid, matchID string) (Match, error) {
	if err := s.unmatch(ctx, pid, cid, matchID, "unmatched by hand", "", false); err != nil {
		return Match{}, err
	}
	var m Match
	err := s.Store.Get(ctx, store.CompanyPK(pid, cid), skMatch+matchID, &m)
	return m, err
}

// ManualMatchInput is the body of POST /matches.
type ManualMatchInput struct {
	BankTransactionID string   `json:"bank_transaction_id"`
	PayoutIDs         []string `json:"payout_ids"`
}

// ManualMatch books a match a person asked for, after the same checks a run
// makes: posted unmatched line, paid unmatched payouts, same currency, sums equal,
// payouts itemised.
func (s *Service) ManualMatch(ctx context.Context, pid, cid string, in ManualMatchInput) (Match, error) {
	if in.BankTransactionID == "" || len(in.BankTransactionID) > 128 {
		return Match{}, apperr.FieldErrors(map[string]string{"bank_transaction_id": "required"})
	}
	if len(in.PayoutIDs) == 0 || len(in.PayoutIDs) > 50 {
		return Match{}, apperr.FieldErrors(map[string]string{"payout_ids": "give 1 to 50 payout IDs"})
	}
	pk := store.CompanyPK(pid, cid)
	var li lineItem
	if err := s.Store.Get(ctx, pk, skLine+in.BankTransactionID, &li); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Match{}, apperr.FieldErrors(map[string]string{"bank_transaction_id": "no such bank transaction"})
		}
		return Match{}, err
	}
	matchedL := map[string]bool{li.ID: li.MatchID != ""}
	matchedP := map[string]bool{}
	pays := make([]payouts.Payout, 0, len(in.PayoutIDs))
	now := s.now()
	for _, id := range in.PayoutIDs {
		p, err := s.Payouts.Get(ctx, pid, cid, id)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return Match{}, apperr.FieldErrors(map[string]string{"payout_ids": "no such payout: " + clip(id, 64)})
			}
			return Match{}, err
		}
		if err := s.syncPayout(ctx, p); err != nil {
			return Match{}, err
		}
		var v payoutView
		if err := s.Store.Get(ctx, pk, skPayout+id, &v); err != nil {
			return Match{}, err
		}
		matchedP[id] = v.MatchID != ""
		pays = append(pays, p)
	}
	m, err := recon.CheckManual(li.line(), pays, matchedL, matchedP)
	if err != nil {
		var fe *recon.FieldError
		if errors.As(err, &fe) {
			if strings.Contains(fe.Err.Error(), "already matched") {
				return Match{}, apperr.New(apperr.Conflict, "%s", fe.Err.Error())
			}
			return Match{}, apperr.FieldErrors(map[string]string{fe.Field: fe.Err.Error()})
		}
		return Match{}, err
	}
	chart, err := s.accounts(ctx, pid, cid)
	if err != nil {
		return Match{}, err
	}
	slices.SortFunc(pays, func(a, b payouts.Payout) int { return cmpStr(a.ID, b.ID) })
	err = s.book(ctx, pid, cid, m, []recon.BankLine{li.line()}, pays, chart, "manual")
	var bad *bookError
	switch {
	case errors.As(err, &bad):
		return Match{}, apperr.New(apperr.Unprocessable, "%s", bad.Error())
	case errors.Is(err, store.ErrConditionFailed):
		return Match{}, apperr.New(apperr.Conflict, "the bank transaction or a payout was matched or changed meanwhile")
	case err != nil:
		return Match{}, err
	}
	if err := markDirty(ctx, s.Store, pid, cid, li.line().Date, now); err != nil {
		return Match{}, err
	}
	// Return the stored match (the one whose line now points at it).
	if err := s.Store.Get(ctx, pk, skLine+li.ID, &li); err != nil {
		return Match{}, err
	}
	var out Match
	err = s.Store.Get(ctx, pk, skMatch+li.MatchID, &out)
	return out, err
}

// accounts returns the company's chart: defaults with its overrides.
func (s *Service) accounts(ctx context.Context, pid, cid string) (recon.AccountMap, error) {
	var it accountsItem
	err := s.Store.Get(ctx, store.CompanyPK(pid, cid), skAccounts, &it)
	if errors.Is(err, store.ErrNotFound) {
		return recon.DefaultAccounts(), nil
	}
	if err != nil {
		return nil, err
	}
	return recon.WithOverrides(it.Accounts)
}

// Accounts returns the company's account names (defaults merged with its overrides).
func (s *Service) Accounts(ctx context.Context, pid, cid string) (recon.AccountMap, error) {
	return s.accounts(ctx, pid, cid)
}

// SetAccounts replaces the company's overrides (422 naming unknown keys or bad names).
func (s *Service) SetAccounts(ctx context.Context, pid, cid string, overrides map[string]string) (recon.AccountMap, error) {
	if len(overrides) > 200 {
		return nil, apperr.New(apperr.Unprocessable, "at most 200 accounts")
	}
	if errs := recon.ValidateAccounts(overrides); len(errs) > 0 {
		return nil, apperr.FieldErrors(errs)
	}
	it := accountsItem{PartnerID: pid, CompanyID: cid, Accounts: map[string]string{}, UpdatedAt: s.now()}
	for k, v := range overrides {
		it.Accounts[k] = strings.TrimSpace(v)
	}
	it.PK, it.SK = store.CompanyPK(pid, cid), skAccounts
	if err := s.Store.Put(ctx, it); err != nil {
		return nil, err
	}
	return recon.WithOverrides(it.Accounts)
}
