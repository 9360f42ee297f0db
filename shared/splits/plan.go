package splits

import (
	"errors"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/money"
)

// Editable reports whether the intent's splits may still change: not once any
// money was received (payouts are proportional to the splits as they stood) and
// not once canceled. The error is a 409.
func Editable(in Intent) error {
	switch {
	case in.CanceledAt != nil:
		return apperr.New(apperr.Conflict, "payment intent %s is canceled: its splits can no longer change", in.ID)
	case in.Received > 0:
		return apperr.New(apperr.Conflict, "payment intent %s has received a payment: its splits can no longer change", in.ID)
	}
	return nil
}

// Plan checks a new split (cur == nil) or a changed one (cur is the stored
// version) against its intent, the intent's other splits and the taxes, fills
// defaults from the intent, and returns the split with its computed amounts and
// the intent's breakdown with it in place. others are the intent's stored splits
// (cur among them is replaced). The split must already have its ID. Unknown item or tax → 404; archived tax on a new
// use, wrong currency, over-allocation, cycles, a sent amount that differs from
// the computed one → 422; intent paid or canceled → 409.
func Plan(in Intent, others []Split, d SplitDraft, cur *Split, taxes map[string]Tax) (Split, Breakdown, error) {
	if err := Editable(in); err != nil {
		return Split{}, Breakdown{}, err
	}
	s := d.Split
	if s.ID == "" {
		return Split{}, Breakdown{}, errors.New("plan: the split needs its ID before planning (it orders rounding ties)")
	}
	if s.PaymentIntent != in.ID {
		return Split{}, Breakdown{}, unprocessable("payment_intent", "split belongs to payment intent %q, not %q", s.PaymentIntent, in.ID)
	}
	if s.Currency == "" {
		s.Currency = in.Currency
	} else if s.Currency != in.Currency {
		return Split{}, Breakdown{}, unprocessable("currency", "currency %s does not match the payment intent's %s: a split is paid out of its intent, in its currency", s.Currency, in.Currency)
	}
	if s.Contact == "" {
		s.Contact = in.Contact
	}
	if s.DueAt == nil {
		s.DueAt = in.DueAt
	}
	if s.Type == PercentageOnSplits {
		var ref *Split
		for i := range others {
			if others[i].ID == s.Split {
				ref = &others[i]
			}
		}
		if ref == nil {
			return Split{}, Breakdown{}, unprocessable("split", "split %q is not a split of payment intent %q: percentage-on-splits must reference a split of the same intent", s.Split, in.ID)
		}
		if s.Item == "" {
			s.Item = ref.Item // a split on a split belongs to the same item unless told otherwise
		}
	}
	if _, ok := in.item(s.Item); !ok {
		return Split{}, Breakdown{}, apperr.New(apperr.NotFound, "item %s not found on payment intent %s", s.Item, in.ID)
	}
	if s.Tax != "" {
		t, ok := taxes[s.Tax]
		if !ok {
			return Split{}, Breakdown{}, apperr.New(apperr.NotFound, "tax %s not found", s.Tax)
		}
		if t.Archived() && (cur == nil || cur.Tax != s.Tax) {
			return Split{}, Breakdown{}, unprocessable("tax", "tax %s is archived: archived rates cannot be used on new splits", s.Tax)
		}
	}
	all := make([]Split, 0, len(others)+1)
	for _, o := range others {
		if cur == nil || o.ID != cur.ID {
			all = append(all, o)
		}
	}
	all = append(all, s)
	b, err := Compute(in, all, taxes)
	if err != nil {
		return Split{}, Breakdown{}, err
	}
	b.Fill(&s)
	if d.SentAmount != nil && *d.SentAmount != s.Amount {
		return Split{}, Breakdown{}, unprocessable("amount", "amount %d does not match the computed %s amount %d (%s %s): omit it or send the computed value",
			*d.SentAmount, s.Type, s.Amount, money.Format(s.Amount, s.Currency), s.Currency)
	}
	return s, b, nil
}

// CheckDelete refuses to delete a split that another split references.
func CheckDelete(in Intent, splits []Split, id string) error {
	if err := Editable(in); err != nil {
		return err
	}
	for _, s := range splits {
		if s.Type == PercentageOnSplits && s.Split == id && s.ID != id {
			return apperr.New(apperr.Conflict, "split %s is referenced by percentage-on-splits split %s: delete or change that one first", id, s.ID)
		}
	}
	return nil
}
