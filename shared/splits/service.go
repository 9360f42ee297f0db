package splits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/companies"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/exceptions"
	"github.com/payrecon/payrecon/shared/ids"
)

// RouteLookup finds which partner and company own a connected account.
type RouteLookup interface {
	LookupRoute(ctx context.Context, provider, accountID string) (companies.Route, error)
}

// CompanyGetter reads a partner's company (404 for another partner's).
type CompanyGetter interface {
	Get(ctx context.Context, partnerID, companyID string) (companies.Company, error)
}

// ConnectionGetter reads a company's provider connection (404 when none).
type ConnectionGetter interface {
	Connection(ctx context.Context, partnerID, companyID, provider string) (companies.Connection, error)
}

// StripeKeys returns a partner's Stripe credentials (404 when not configured).
type StripeKeys interface {
	StripeKeys(ctx context.Context, partnerID string) (credentials.StripeCredentials, error)
}

// Service is the splits function's logic: taxes, partnerships, intents, splits
// and payouts. Handlers translate HTTP to these calls.
type Service struct {
	Store     *Store
	Routes    RouteLookup
	Companies CompanyGetter
	Keys      StripeKeys
	Transfers Transferer
	// Platform reads accounts and charges, creates checkouts and reverses transfers.
	Platform Platform
	// Connections finds the tenant company's connected Stripe account.
	Connections ConnectionGetter
	IDs         *ids.Generator
	Now         func() time.Time
	Log         *slog.Logger
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// retries bounds optimistic-locking retries on one intent.
const retries = 5

// CreateTax stores a new tax rate.
func (s *Service) CreateTax(ctx context.Context, pid string, t Tax) (Tax, error) {
	t.ID = s.IDs.ID("tax")
	t.CreatedAt = s.now()
	t.ArchivedAt = nil
	return t, s.Store.PutTax(ctx, pid, t)
}

// CreatePartnership checks the account is connected to one of the partner's
// companies (the same 422 for unknown and other partners' accounts) and stores it.
func (s *Service) CreatePartnership(ctx context.Context, pid string, p Partnership) (Partnership, error) {
	rt, err := s.Routes.LookupRoute(ctx, "stripe", p.StripeAccountID)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return Partnership{}, err
	}
	if err != nil || rt.PartnerID != pid {
		return Partnership{}, apperr.FieldErrors(map[string]string{"stripe_account_id": "is not a Stripe account connected to any of your companies; connect it first (POST /v1/companies/{id}/stripe/link or the Stripe flow)"})
	}
	p.ID = s.IDs.ID("pship")
	p.CreatedAt = s.now()
	return p, s.Store.PutPartnership(ctx, pid, p)
}

// CreateIntent checks the references and stores a new intent with item IDs.
func (s *Service) CreateIntent(ctx context.Context, pid string, in Intent) (Intent, error) {
	if in.Company != "" {
		if _, err := s.Companies.Get(ctx, pid, in.Company); err != nil {
			return Intent{}, err
		}
	}
	if in.Supplier != "" {
		if _, err := s.Store.Partnership(ctx, pid, in.Supplier); err != nil {
			return Intent{}, err
		}
	}
	if in.Tax != "" {
		t, err := s.Store.Tax(ctx, pid, in.Tax)
		if err != nil {
			return Intent{}, err
		}
		if t.Archived() {
			return Intent{}, apperr.FieldErrors(map[string]string{"tax": "tax " + t.ID + " is archived: archived rates cannot be used"})
		}
	}
	in.ID = s.IDs.ID("intent")
	for i := range in.Items {
		in.Items[i].ID = s.IDs.ID("item")
	}
	in.CreatedAt = s.now()
	in.Received = 0
	in.CanceledAt = nil
	return in, s.Store.SaveIntent(ctx, pid, in, 0)
}

// CancelIntent cancels an intent that has received nothing (409 otherwise).
func (s *Service) CancelIntent(ctx context.Context, pid, id string) (Intent, error) {
	for range retries {
		in, v, err := s.Store.Intent(ctx, pid, id)
		if err != nil {
			return Intent{}, err
		}
		if in.CanceledAt != nil {
			return in, nil
		}
		if in.Received > 0 {
			return Intent{}, apperr.New(apperr.Conflict, "payment intent %s has received payments and cannot be canceled", id)
		}
		now := s.now()
		in.CanceledAt = &now
		if err := s.Store.SaveIntent(ctx, pid, in, v); !errors.Is(err, errChanged) {
			return in, err
		}
	}
	return Intent{}, errChanged
}

// taxesFor loads every tax an intent and its splits reference (archived included).
func (s *Service) taxesFor(ctx context.Context, pid string, in Intent, sp []Split, extra ...string) (map[string]Tax, error) {
	out := map[string]Tax{}
	want := append([]string{in.Tax}, extra...)
	for _, x := range sp {
		want = append(want, x.Tax)
	}
	for _, id := range want {
		if id == "" {
			continue
		}
		if _, ok := out[id]; ok {
			continue
		}
		t, err := s.Store.Tax(ctx, pid, id)
		if apperr.Is(err, apperr.NotFound) {
			continue // Plan and Compute name the missing tax
		}
		if err != nil {
			return nil, err
		}
		out[id] = t
	}
	return out, nil
}

// IntentView is an intent with its derived status and computed breakdown.
type IntentView struct {
	Intent
	Amount    int64        `json:"amount"`
	Status    IntentStatus `json:"status"`
	Breakdown *Breakdown   `json:"breakdown,omitempty"`
}

// GetIntent reads an intent with its status and breakdown.
func (s *Service) GetIntent(ctx context.Context, pid, id string) (IntentView, error) {
	in, _, err := s.Store.Intent(ctx, pid, id)
	if err != nil {
		return IntentView{}, err
	}
	sp, err := s.Store.Splits(ctx, pid, id)
	if err != nil {
		return IntentView{}, err
	}
	taxes, err := s.taxesFor(ctx, pid, in, sp)
	if err != nil {
		return IntentView{}, err
	}
	b, err := Compute(in, sp, taxes)
	if err != nil {
		return IntentView{}, fmt.Errorf("intent %s no longer computes: %w", id, err)
	}
	return IntentView{Intent: in, Amount: in.Amount(), Status: in.StatusAt(s.now()), Breakdown: &b}, nil
}

// View wraps a listed intent (no breakdown).
func (s *Service) View(in Intent) IntentView {
	return IntentView{Intent: in, Amount: in.Amount(), Status: in.StatusAt(s.now())}
}

// splitMutation runs fn on a fresh read of the intent and its splits, retrying
// when another change to the same intent won the race.
func (s *Service) splitMutation(ctx context.Context, pid, intentID string, fn func(in Intent, v int64, sp []Split) error) error {
	for range retries {
		in, v, err := s.Store.Intent(ctx, pid, intentID)
		if err != nil {
			return err
		}
		sp, err := s.Store.Splits(ctx, pid, intentID)
		if err != nil {
			return err
		}
		if err := fn(in, v, sp); !errors.Is(err, errChanged) {
			return err
		}
	}
	return errChanged
}

// CreateSplit validates and stores a new split. The referenced intent, item,
// partnership, tax and split must exist (404); a split referenced across intents
// is 422.
func (s *Service) CreateSplit(ctx context.Context, pid string, d SplitDraft) (Split, error) {
	if err := s.checkRefs(ctx, pid, d.Split); err != nil {
		return Split{}, err
	}
	d.Split.ID = s.IDs.ID("split")
	var out Split
	err := s.splitMutation(ctx, pid, d.Split.PaymentIntent, func(in Intent, v int64, sp []Split) error {
		taxes, err := s.taxesFor(ctx, pid, in, sp, d.Split.Tax)
		if err != nil {
			return err
		}
		planned, _, err := Plan(in, sp, d, nil, taxes)
		if err != nil {
			return err
		}
		now := s.now()
		planned.CreatedAt, planned.UpdatedAt, planned.Status = now, now, SplitPending
		if err := s.Store.WriteSplit(ctx, pid, in, v, stored(planned, d.Split), true); err != nil {
			return err
		}
		out = planned
		return nil
	})
	return out, err
}

// stored is what is persisted: the definition and the defaults Plan filled, not
// the computed amounts (they are recomputed on every read).
func stored(planned, def Split) Split {
	st := planned
	if st.Type != Fixed {
		st.Amount = 0
	}
	st.Kept, st.TaxTotal, st.AmountPaid = nil, 0, 0
	st.Partnership = def.Partnership // a keep split's default supplier stays a default
	return st
}

// checkRefs gives 404 for unknown references and 422 for a percentage-on-splits
// base on another intent (a split kept only as a reference may name any of the partner's splits).
func (s *Service) checkRefs(ctx context.Context, pid string, sp Split) error {
	if _, _, err := s.Store.Intent(ctx, pid, sp.PaymentIntent); err != nil {
		return err
	}
	if sp.Partnership != "" {
		if _, err := s.Store.Partnership(ctx, pid, sp.Partnership); err != nil {
			return err
		}
	}
	if sp.Split != "" {
		owner, err := s.Store.SplitIntent(ctx, pid, sp.Split)
		if err != nil {
			return err
		}
		if owner != sp.PaymentIntent && sp.Type == PercentageOnSplits {
			return apperr.FieldErrors(map[string]string{"split": "split " + sp.Split + " belongs to another payment intent: percentage-on-splits must reference a split of the same intent"})
		}
	}
	return nil
}

// GetSplit reads a split with its computed amounts and payout status.
func (s *Service) GetSplit(ctx context.Context, pid, id string) (Split, error) {
	intentID, err := s.Store.SplitIntent(ctx, pid, id)
	if err != nil {
		return Split{}, err
	}
	list, err := s.ListSplits(ctx, pid, intentID)
	if err != nil {
		return Split{}, err
	}
	for _, sp := range list {
		if sp.ID == id {
			return sp, nil
		}
	}
	return Split{}, apperr.New(apperr.NotFound, "split %s not found", id)
}

// ListSplits lists an intent's splits with computed amounts and payout status.
func (s *Service) ListSplits(ctx context.Context, pid, intentID string) ([]Split, error) {
	in, _, err := s.Store.Intent(ctx, pid, intentID)
	if err != nil {
		return nil, err
	}
	sp, err := s.Store.Splits(ctx, pid, intentID)
	if err != nil {
		return nil, err
	}
	taxes, err := s.taxesFor(ctx, pid, in, sp)
	if err != nil {
		return nil, err
	}
	b, err := Compute(in, sp, taxes)
	if err != nil {
		return nil, fmt.Errorf("intent %s no longer computes: %w", intentID, err)
	}
	rounds, err := s.Store.Rounds(ctx, pid, intentID)
	if err != nil {
		return nil, err
	}
	sum := summarize(in, b, rounds)
	for i := range sp {
		b.Fill(&sp[i])
		if p, ok := sum["split:"+sp[i].ID]; ok {
			sp[i].AmountPaid, sp[i].Status = p.Paid, p.Status
		}
	}
	sort.Slice(sp, func(i, j int) bool { return sp[i].ID < sp[j].ID })
	return sp, nil
}

// UpdateSplit applies a PATCH to a split (409 once the intent received money).
func (s *Service) UpdateSplit(ctx context.Context, pid, id string, body []byte) (Split, error) {
	intentID, err := s.Store.SplitIntent(ctx, pid, id)
	if err != nil {
		return Split{}, err
	}
	var out Split
	err = s.splitMutation(ctx, pid, intentID, func(in Intent, v int64, sp []Split) error {
		var cur *Split
		for i := range sp {
			if sp[i].ID == id {
				cur = &sp[i]
			}
		}
		if cur == nil {
			return apperr.New(apperr.NotFound, "split %s not found", id)
		}
		d, err := DecodeSplitPatch(body, *cur)
		if err != nil {
			return err
		}
		if err := s.checkRefs(ctx, pid, d.Split); err != nil {
			return err
		}
		taxes, err := s.taxesFor(ctx, pid, in, sp, d.Split.Tax)
		if err != nil {
			return err
		}
		planned, _, err := Plan(in, sp, d, cur, taxes)
		if err != nil {
			return err
		}
		planned.UpdatedAt = s.now()
		if err := s.Store.WriteSplit(ctx, pid, in, v, stored(planned, d.Split), false); err != nil {
			return err
		}
		out = planned
		return nil
	})
	return out, err
}

// DeleteSplit removes a split (409 once the intent received money or while
// another split references it).
func (s *Service) DeleteSplit(ctx context.Context, pid, id string) error {
	intentID, err := s.Store.SplitIntent(ctx, pid, id)
	if err != nil {
		return err
	}
	return s.splitMutation(ctx, pid, intentID, func(in Intent, v int64, sp []Split) error {
		if err := CheckDelete(in, sp, id); err != nil {
			return err
		}
		return s.Store.DeleteSplit(ctx, pid, in, v, id)
	})
}

// events is what exceptions and events need to be emitted.
func (s *Service) events() exceptions.Events { return exceptions.Events{IDs: s.IDs, Now: s.now} }
