package webhooks

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/qualpayrecon"
	"github.com/payrecon/payrecon/shared/queue"
	"github.com/payrecon/payrecon/shared/store"
)

// Qualpay pull windows (docs/qualpay-reconciliation.md).
const (
	// QualpayLookbackBusinessDays is how far before its cursor a scheduled pull
	// reads again: Qualpay may post a deposit (or correct one) days after the
	// batches behind it settled; ten business days (two weeks) covers the late
	// postings seen in practice with margin, and rereading costs reads only.
	QualpayLookbackBusinessDays = 10
	// QualpayBackfillDays is the range pulled when a merchant is linked.
	QualpayBackfillDays = 90
	// QualpayMaxRangeDays bounds one job's range (work per job stays bounded).
	QualpayMaxRangeDays = 120
	pullShards          = 4
)

// QualpayPulls keeps one pull cursor per linked Qualpay merchant and turns
// them into pull jobs: a backfill when a merchant is linked, and a pull of
// every merchant on each reconcile schedule tick, so deposits arrive with no
// webhook at all (a webhook only makes the pull sooner).
//
// Cursor items live in a few fixed partitions (QPPULL#<shard>, sort key
// partner#company#merchant), so the schedule reads them without a scan.
type QualpayPulls struct {
	Store *store.Store
	Queue queue.Enqueuer
	Now   func() time.Time
}

// pullState is one merchant's cursor: every deposit posted on or before
// Cursor has been pulled once (later pulls reread the lookback before it).
type pullState struct {
	store.Keys
	PartnerID  string `dynamodbav:"partner_id"`
	CompanyID  string `dynamodbav:"company_id"`
	MerchantID string `dynamodbav:"merchant_id"`
	Cursor     string `dynamodbav:"cursor,omitempty"`   // YYYY-MM-DD
	Currency   string `dynamodbav:"currency,omitempty"` // learned from funded_currency, never assumed
}

func pullKey(pid, cid, mid string) (string, string) {
	h := fnv.New32a()
	h.Write([]byte(mid))
	return fmt.Sprintf("QPPULL#%d", h.Sum32()%pullShards), pid + "#" + cid + "#" + mid
}

func (q *QualpayPulls) today() time.Time {
	n := q.Now().UTC()
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// Linked registers a newly linked merchant and queues its backfill
// (QualpayBackfillDays up to today, in jobs of a month). Linking again re-queues the backfill:
// pulls are idempotent, so that only costs reads.
func (q *QualpayPulls) Linked(ctx context.Context, pid, cid, mid string) error {
	if _, err := q.register(ctx, pid, cid, mid); err != nil {
		return err
	}
	// In chunks, so one job's reads and writes stay within a worker's
	// timeout for a busy merchant; chunks may run in any order (the cursor
	// only moves forward).
	to := q.today()
	return q.enqueueRange(ctx, pid, cid, mid, to.AddDate(0, 0, -QualpayBackfillDays), to)
}

// enqueueRange queues pulls of from..to in jobs of at most
// qualpayBackfillChunkDays, so each stays within QualpayMaxRangeDays and a
// worker's timeout.
func (q *QualpayPulls) enqueueRange(ctx context.Context, pid, cid, mid string, from, to time.Time) error {
	for ; !from.After(to); from = from.AddDate(0, 0, qualpayBackfillChunkDays) {
		end := from.AddDate(0, 0, qualpayBackfillChunkDays-1)
		if end.After(to) {
			end = to
		}
		if err := q.Queue.Enqueue(ctx, q.job(pid, cid, mid, from, end)); err != nil {
			return err
		}
	}
	return nil
}

// qualpayBackfillChunkDays is the range of one backfill job.
const qualpayBackfillChunkDays = 31

// register creates the merchant's cursor item when it has none.
func (q *QualpayPulls) register(ctx context.Context, pid, cid, mid string) (pullState, error) {
	st := pullState{PartnerID: pid, CompanyID: cid, MerchantID: mid}
	st.PK, st.SK = pullKey(pid, cid, mid)
	if err := q.Store.PutNew(ctx, st); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return st, fmt.Errorf("qualpay pull cursor: %w", err)
	}
	return st, nil
}

// Soon queues a pull of the lookback window now (a webhook arrived).
func (q *QualpayPulls) Soon(pid, cid, mid string) queue.Job {
	to := q.today()
	return q.job(pid, cid, mid, qualpayrecon.AddBusinessDays(to, -QualpayLookbackBusinessDays), to)
}

func (q *QualpayPulls) job(pid, cid, mid string, from, to time.Time) queue.Job {
	return queue.Job{Kind: queue.KindQualpayPullDeposits, PartnerID: pid, CompanyID: cid, AccountID: mid,
		Since: from.Format(time.DateOnly), Until: to.Format(time.DateOnly)}
}

// Schedule queues one pull per registered merchant: from the lookback before
// its cursor (or the backfill range when it has none yet) to today. It reads
// pullShards partitions; a failed enqueue is counted and retried next tick.
func (q *QualpayPulls) Schedule(ctx context.Context) (queued, failed int, err error) {
	to := q.today()
	for shard := 0; shard < pullShards; shard++ {
		q2 := store.Query{PK: fmt.Sprintf("QPPULL#%d", shard), Limit: 500}
		for {
			var page []pullState
			next, err := q.Store.QueryPage(ctx, q2, &page)
			if err != nil {
				return queued, failed, fmt.Errorf("read qualpay pull cursors: %w", err)
			}
			for _, st := range page {
				from := to.AddDate(0, 0, -QualpayBackfillDays)
				if c, err := time.Parse(time.DateOnly, st.Cursor); err == nil {
					from = qualpayrecon.AddBusinessDays(minTime(c, to), -QualpayLookbackBusinessDays)
				}
				// A cursor older than one job's range (months without a
				// pull) is caught up in several jobs: one job over the whole
				// range would be refused as too long on every tick.
				if err := q.enqueueRange(ctx, st.PartnerID, st.CompanyID, st.MerchantID, from, to); err != nil {
					failed++
					continue
				}
				queued++
			}
			if next == "" {
				break
			}
			q2.Cursor = next
		}
	}
	return queued, failed, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// state reads a merchant's cursor; ok is false when none is registered.
func (q *QualpayPulls) state(ctx context.Context, pid, cid, mid string) (pullState, bool, error) {
	pk, sk := pullKey(pid, cid, mid)
	var st pullState
	err := q.Store.Get(ctx, pk, sk, &st)
	if errors.Is(err, store.ErrNotFound) {
		return pullState{}, false, nil
	}
	return st, err == nil, err
}

// advance moves the cursor forward to until (never back: a conditional
// update, so two overlapping pulls cannot rewind it) and records the
// merchant's currency; it writes only when something changes.
func (q *QualpayPulls) advance(ctx context.Context, st pullState, until, currency string) error {
	if until <= st.Cursor && (currency == "" || currency == st.Currency) {
		return nil
	}
	pk, sk := pullKey(st.PartnerID, st.CompanyID, st.MerchantID)
	set, values := "SET #c = :c", map[string]any{":c": until}
	if currency != "" {
		set += ", currency = :cur"
		values[":cur"] = currency
	}
	av, err := store.Values(values)
	if err != nil {
		return err
	}
	_, err = q.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(q.Store.Table), Key: store.Key(pk, sk), UpdateExpression: aws.String(set),
		ConditionExpression:      aws.String("attribute_exists(pk) AND (attribute_not_exists(#c) OR #c <= :c)"),
		ExpressionAttributeNames: map[string]string{"#c": "cursor"}, ExpressionAttributeValues: av,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // a newer pull moved it further, or the merchant was unlinked
	}
	return err
}

// forget drops the cursor of a merchant no longer linked to the company.
func (q *QualpayPulls) forget(ctx context.Context, pid, cid, mid string) error {
	pk, sk := pullKey(pid, cid, mid)
	return q.Store.Delete(ctx, pk, sk)
}
