package reconsvc

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/payrecon/payrecon/shared/store"
)

// CompanyRef names one company to reconcile (the fan-out message).
type CompanyRef struct {
	PartnerID string `json:"partner_id"`
	CompanyID string `json:"company_id"`
}

// DecodeRef parses a fan-out message body.
func DecodeRef(body string) (CompanyRef, error) {
	var r CompanyRef
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.PartnerID == "" || r.CompanyID == "" {
		return CompanyRef{}, fmt.Errorf("reconcile message: want {partner_id, company_id}")
	}
	return r, nil
}

// Due lists the companies whose run is due by now: those with new data, and
// those whose waiting items' windows have passed. It reads the due index only
// (a few small partitions), never the table.
func (s *Service) Due(ctx context.Context, now time.Time) ([]CompanyRef, error) {
	today := now.UTC().Format(time.DateOnly)
	var out []CompanyRef
	for shard := 0; shard < dueShards; shard++ {
		rows, err := queryAll[state](ctx, s.Store, store.Query{
			PK: fmt.Sprintf("RECONDUE#%d", shard), Index: store.GSI1, SKFrom: "0", SKTo: today + "#~", Limit: 1000,
		}, 0)
		if err != nil {
			return nil, fmt.Errorf("read due companies: %w", err)
		}
		for _, r := range rows {
			out = append(out, CompanyRef{PartnerID: r.PartnerID, CompanyID: r.CompanyID})
		}
	}
	return out, nil
}

// ScheduleResult is what one scheduled pass did.
type ScheduleResult struct {
	Due    int `json:"due"`
	Sent   int `json:"sent"`
	Failed int `json:"failed"`
	// QualpayPulls is how many Qualpay merchant pulls the same tick queued
	// (set by the caller that runs both, shared/app).
	QualpayPulls int `json:"qualpay_pulls,omitempty"`
	// PlaidSyncs is how many stale Plaid Item syncs the tick queued.
	PlaidSyncs int `json:"plaid_syncs,omitempty"`
}

// Schedule sends every due company to run (to the queue in AWS, so companies run
// in parallel and one failure does not stop the others). A send that fails is
// counted and logged; the company stays due for the next pass.
func (s *Service) Schedule(ctx context.Context, send func(context.Context, CompanyRef) error) (ScheduleResult, error) {
	due, err := s.Due(ctx, s.now())
	if err != nil {
		return ScheduleResult{}, err
	}
	res := ScheduleResult{Due: len(due)}
	for _, c := range due {
		if err := send(ctx, c); err != nil {
			res.Failed++
			s.Log.ErrorContext(ctx, "reconcile not started", "partner_id", c.PartnerID, "company_id", c.CompanyID, "err", err)
			continue
		}
		res.Sent++
	}
	return res, nil
}

// RunRef runs one company's reconciliation (the queue consumer's job).
func (s *Service) RunRef(ctx context.Context, c CompanyRef) (Summary, error) {
	sum, err := s.Reconcile(ctx, c.PartnerID, c.CompanyID, false)
	if err != nil {
		return sum, fmt.Errorf("reconcile %s/%s: %w", c.PartnerID, c.CompanyID, err)
	}
	s.Log.InfoContext(ctx, "reconciled", "partner_id", c.PartnerID, "company_id", c.CompanyID,
		"matched", sum.Matched, "new_exceptions", sum.NewExceptions, "resolved", sum.Resolved, "conflicts", sum.Conflicts)
	return sum, nil
}

// Inline runs each company in turn, right away (local runner, tests): a
// failing company is logged and the others still run.
func (s *Service) Inline(ctx context.Context, c CompanyRef) error {
	_, err := s.RunRef(ctx, c)
	if err != nil {
		s.Log.ErrorContext(ctx, "reconcile failed", "partner_id", c.PartnerID, "company_id", c.CompanyID, "err", err)
	}
	return err
}
