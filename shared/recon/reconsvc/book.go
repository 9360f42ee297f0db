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
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/payouts"
	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// bookError means a match's data does not add up (items, sums): nothing is written.
type bookError struct{ err error }

func (e *bookError) Error() string { return e.err.Error() }
func (e *bookError) Unwrap() error { return e.err }

// book writes one match: first its journal and invoice-link chunks
// (BatchWriteItem, invisible until the header exists), then in one conditional
// transaction the small header and its lines and payouts marked matched
// (ErrConditionFailed when any of them changed or got matched meanwhile; the
// chunks written for it are then deleted, best effort). Then the invoices its
// payments paid move to reconciled.
func (s *Service) book(ctx context.Context, pid, cid string, m recon.Match, lines []recon.BankLine, pays []payouts.Payout,
	chart recon.AccountMap, by string) error {
	if max := s.maxMatchPayouts(); len(m.PayoutIDs) > max || len(lines) > 2 {
		return &bookError{fmt.Errorf("a match takes at most %d payouts and 2 bank lines", max)}
	}
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
	now := s.now()
	pk := store.CompanyPK(pid, cid)
	invoiceIDs := recon.InvoiceIDs(post.Payouts)
	rec := Match{
		PartnerID: pid, CompanyID: cid, ID: s.IDs.ID("mt"), Kind: m.Kind, Rule: m.Rule, Evidence: m.Evidence,
		BankTransactionIDs: m.LineIDs, PayoutIDs: m.PayoutIDs, Amount: m.Amount, Currency: m.Currency,
		Date: m.Date.String(), Status: MatchActive, EntryCount: len(entries), LineCount: lineCount(entries),
		InvoiceCount: len(invoiceIDs), CreatedBy: by, CreatedAt: now,
	}
	rec.PK, rec.SK = pk, skMatch+rec.ID
	chunks, err := s.writeChunks(ctx, &rec, entries, invoiceIDs)
	if err != nil {
		return err
	}
	put, err := s.Store.PutInput(rec, "attribute_not_exists(pk)", nil)
	if err != nil {
		return err
	}
	// The header's event rides in the same transaction: a match that loses its
	// race (a line or payout matched meanwhile) announces nothing.
	ev, err := outbox.Emit(s.Store.Table, s.IDs, now, outbox.MatchCreated, pid, cid, rec.ID, rec)
	if err != nil {
		return err
	}
	tx := []types.TransactWriteItem{store.TxPut(put), ev}
	for _, l := range lines {
		tx = append(tx, s.setMatch(pk, skLine+l.ID, rec.ID, "attribute_exists(pk) AND attribute_not_exists(match_id) AND amount = :amt AND pending = :f",
			map[string]any{":amt": l.Amount, ":f": false}))
	}
	for _, p := range pays {
		tx = append(tx, s.setMatch(pk, skPayout+p.ID, rec.ID, "attribute_exists(pk) AND attribute_not_exists(match_id) AND amount = :amt",
			map[string]any{":amt": p.Amount}))
	}
	if err := s.Store.Transact(ctx, tx); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			s.dropChunks(ctx, pk, chunks)
		}
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

// writeChunks writes a new match's journal and invoice chunks and sets the
// header's chunk count; it returns the chunks' keys.
func (s *Service) writeChunks(ctx context.Context, rec *Match, entries []recon.Entry, invoiceIDs []string) ([]types.WriteRequest, error) {
	reqs, err := journalPuts(rec.PartnerID, rec.CompanyID, rec.ID, 0, entries)
	if err != nil {
		return nil, err
	}
	inv, n, err := invoicePuts(rec.PartnerID, rec.CompanyID, rec.ID, invoiceIDs)
	if err != nil {
		return nil, err
	}
	rec.InvoiceChunks = n
	reqs = append(reqs, inv...)
	if err := s.Store.BatchWrite(ctx, reqs); err != nil {
		return nil, fmt.Errorf("write journal of match %s: %w", rec.ID, err)
	}
	return reqs, nil
}

// dropChunks deletes chunks whose header was never written. Best effort: they
// are invisible anyway (nothing reads chunks without their header).
func (s *Service) dropChunks(ctx context.Context, pk string, puts []types.WriteRequest) {
	dels := make([]types.WriteRequest, 0, len(puts))
	for _, r := range puts {
		sk := r.PutRequest.Item["sk"].(*types.AttributeValueMemberS).Value
		dels = append(dels, store.DeleteRequest(pk, sk))
	}
	if err := s.Store.BatchWrite(ctx, dels); err != nil {
		s.Log.WarnContext(ctx, "orphan journal chunks left", "err", err)
	}
}

func lineCount(es []recon.Entry) int {
	n := 0
	for _, e := range es {
		n += len(e.Lines)
	}
	return n
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
	entries, err := s.entries(ctx, m)
	if err != nil {
		return err
	}
	rev := recon.Reverse(entries, recon.DateFromTime(now))
	for i := range rev {
		rev[i].Memo += " (" + clip(reason, 200) + ")"
	}
	// The reversal's chunks follow the originals; they count once the header's
	// entry_count covers them (same keys on a retry, so a rerun rewrites them).
	puts, err := journalPuts(pid, cid, matchID, m.EntryCount, rev)
	if err != nil {
		return err
	}
	if err := s.Store.BatchWrite(ctx, puts); err != nil {
		return fmt.Errorf("write reversal of match %s: %w", matchID, err)
	}
	values, err := store.Values(map[string]any{":r": MatchReversed, ":a": MatchActive, ":now": now, ":n": m.EntryCount,
		":n2": m.EntryCount + len(rev), ":l2": m.LineCount + lineCount(rev)})
	if err != nil {
		return err
	}
	reversed := m
	reversed.Status, reversed.ReversedAt = MatchReversed, &now
	reversed.EntryCount, reversed.LineCount = m.EntryCount+len(rev), m.LineCount+lineCount(rev)
	ev, err := outbox.Emit(s.Store.Table, s.IDs, now, outbox.MatchReversed, pid, cid, matchID, reversed)
	if err != nil {
		return err
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.Store.Table), Key: store.Key(pk, skMatch+matchID),
		UpdateExpression:          aws.String("SET #st = :r, reversed_at = :now, entry_count = :n2, line_count = :l2"),
		ConditionExpression:       aws.String("#st = :a AND entry_count = :n"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	}}, ev}
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
		tx = append(tx, s.reopen(pk, skLine+id, matchID, openPK(pk, it.Amount), it.Date+"#"+id))
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
	if m.InvoiceCount > 0 && s.Invoices != nil && s.Payouts != nil {
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

// maxMatchPayouts is MaxMatchPayouts, or less where the table's transactions
// are smaller (DynamoDB Local takes 10 actions): a match's transaction holds the
// header, its event, up to 2 bank lines and one update per payout, and a match
// that cannot fit is refused up front rather than failing in DynamoDB.
func (s *Service) maxMatchPayouts() int {
	return min(MaxMatchPayouts, s.Store.TxLimit()-4)
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
	if max := s.maxMatchPayouts(); len(in.PayoutIDs) == 0 || len(in.PayoutIDs) > max {
		return Match{}, apperr.FieldErrors(map[string]string{"payout_ids": fmt.Sprintf("give 1 to %d payout IDs", max)})
	}
	if slices.Sort(in.PayoutIDs); len(slices.Compact(slices.Clone(in.PayoutIDs))) != len(in.PayoutIDs) {
		return Match{}, apperr.FieldErrors(map[string]string{"payout_ids": "each payout ID once"})
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
