package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/payrecon/payrecon/shared/invoices"
	"github.com/payrecon/payrecon/shared/outbox"
	"github.com/payrecon/payrecon/shared/store"
)

// EventRef is what fan-out needs of an event.
type EventRef struct {
	ID, Type, PartnerID, ObjectID string
	// Marker is the key of the item whose marker announced the event (an
	// invoice; see invoices.PendingEvent), nil for an event item written by
	// its change: fan-out clears the marker instead of the event's own entry.
	Marker map[string]types.AttributeValue
}

// Relay fans events out to the subscribed endpoints' delivery queue and then
// clears the events' pending index entries.
type Relay struct {
	Store *store.Store
	Queue Enqueuer
	Now   func() time.Time
	Log   *slog.Logger
	// MinAge: the sweep leaves younger pending events to the stream (default 2 min).
	MinAge time.Duration
	// SweepMax bounds the events one sweep handles (default 1000); the rest wait
	// for the next run, every 5 minutes.
	SweepMax int
}

// FanOut queues one delivery per enabled, subscribed endpoint of each event and
// then marks the event fanned out. An error leaves the failed events pending
// (the stream retries the batch; the sweep catches anything left).
func (r *Relay) FanOut(ctx context.Context, evs []EventRef) (int, error) {
	endpoints := endpointCache{} // partner -> endpoints, read once per call
	queued := 0
	var errs []error
	for _, ev := range evs {
		n, err := r.fanOut(ctx, ev, endpoints)
		queued += n
		if err != nil {
			errs = append(errs, fmt.Errorf("event %s: %w", ev.ID, err))
		}
	}
	return queued, errors.Join(errs...)
}

type endpointCache map[string][]Endpoint

func (r *Relay) fanOut(ctx context.Context, ev EventRef, cache endpointCache) (int, error) {
	eps, ok := cache[ev.PartnerID]
	if !ok {
		if err := r.Store.QueryAll(ctx, store.Query{PK: store.PartnerPK(ev.PartnerID), SKPrefix: endpointSK}, MaxEndpoints+1,
			func(items []map[string]types.AttributeValue) error {
				var page []Endpoint
				if err := unmarshalList(items, &page); err != nil {
					return err
				}
				eps = append(eps, page...)
				return nil
			}); err != nil {
			return 0, fmt.Errorf("endpoints of %s: %w", ev.PartnerID, err)
		}
		cache[ev.PartnerID] = eps
	}
	var msgs []Message
	for _, ep := range eps {
		if ep.Status == Enabled && ep.Subscribed(ev.Type) {
			msgs = append(msgs, Message{EventID: ev.ID, PartnerID: ev.PartnerID, EndpointID: ep.ID, ObjectID: ev.ObjectID})
		}
	}
	if len(msgs) > 0 {
		if err := r.Queue.Enqueue(ctx, msgs); err != nil {
			return 0, err
		}
	}
	// Queued but still pending if this fails: the sweep queues it again, and
	// SQS deduplication or the delivery summary keeps it to one delivery.
	return len(msgs), r.clearPending(ctx, ev)
}

func (r *Relay) clearPending(ctx context.Context, ev EventRef) error {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(r.Store.Table), Key: store.Key(store.PartnerPK(ev.PartnerID), outbox.SKPrefix+ev.ID),
		UpdateExpression:    aws.String("REMOVE gsi1pk, gsi1sk"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
	}
	if ev.Marker != nil {
		// Only while the marker still names this event: a later change may
		// already have set the marker of its own event.
		in.Key, in.UpdateExpression = ev.Marker, aws.String("REMOVE "+invoices.MarkerAttrs)
		in.ConditionExpression = aws.String("gsi1sk = :id")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: ev.ID}}
	}
	_, err := r.Store.DB.UpdateItem(ctx, in)
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return nil // expired, or the marker moved on: nothing left to clear
	}
	if err != nil {
		return fmt.Errorf("clear pending: %w", err)
	}
	return nil
}

// materialise writes the event an item's marker announces (once: a replay
// finds it written) and returns its reference; ok is false without a readable
// marker. An error is a failed write (worth a retry).
func (r *Relay) materialise(ctx context.Context, item map[string]types.AttributeValue) (EventRef, bool, error) {
	ev, ok, err := invoices.PendingEvent(item)
	if err != nil {
		// Not an invoice as written by this code: retrying cannot help.
		r.Log.ErrorContext(ctx, "event marker not readable", "sk", itemString(item, "sk"), "err", err)
		return EventRef{}, false, nil
	}
	if !ok {
		return EventRef{}, false, nil
	}
	if err := ev.PutOnce(ctx, r.Store); err != nil {
		return EventRef{}, false, fmt.Errorf("write event %s: %w", ev.ID, err)
	}
	return EventRef{ID: ev.ID, Type: ev.Type, PartnerID: ev.PartnerID, ObjectID: ev.ObjectID,
		Marker: store.Key(itemString(item, "pk"), itemString(item, "sk"))}, true, nil
}

func itemString(item map[string]types.AttributeValue, k string) string {
	v, _ := item[k].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}

// HandleStream is the relay's DynamoDB Streams entry: the template's filter
// passes INSERTs of event items (sk "EVT#…") and writes of invoices that set
// an event marker (sk "INVOICE#…", gsi1pk on the pending index); anything else
// is skipped here too. A marker's event is written from the record's
// NEW_IMAGE: the invoice as that change left it. A record whose event cannot
// be written or fanned out is reported (ReportBatchItemFailures) and Lambda
// retries from it; one that cannot be read (no image: a stream
// view type other than NEW_IMAGE) is logged and acknowledged, since retrying
// cannot help, and the sweep delivers that event from the table.
func (r *Relay) HandleStream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var res events.DynamoDBEventResponse
	cache := endpointCache{}
	for _, rec := range ev.Records {
		img := rec.Change.NewImage
		sk := attrString(rec.Change.Keys, "sk")
		var ref EventRef
		switch {
		case rec.EventName == string(events.DynamoDBOperationTypeInsert) && strings.HasPrefix(sk, outbox.SKPrefix):
			ref = EventRef{ID: strings.TrimPrefix(sk, outbox.SKPrefix), Type: attrString(img, "type"),
				PartnerID: attrString(img, "partner_id"), ObjectID: attrString(img, "object_id")}
			if ref.Type == "" || ref.PartnerID == "" || ref.ObjectID == "" {
				r.Log.ErrorContext(ctx, "event record without its image: left to the sweep", "event_id", ref.ID)
				continue
			}
		case rec.EventName != string(events.DynamoDBOperationTypeRemove) && strings.HasPrefix(sk, invoices.SK("")) &&
			strings.HasPrefix(attrString(img, "gsi1pk"), outbox.PendingPrefix):
			m, ok, err := r.materialise(ctx, fromStream(img))
			if err != nil {
				r.Log.ErrorContext(ctx, "event of a marker not written", "sk", sk, "err", err)
				res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
				return res, nil
			}
			if !ok {
				continue
			}
			ref = m
		default:
			continue
		}
		n, err := r.fanOut(ctx, ref, cache)
		if err != nil {
			r.Log.ErrorContext(ctx, "event not fanned out", "event_id", ref.ID, "err", err)
			// Lambda retries from the lowest failed sequence number, so stop here:
			// later events of the batch come again after this one (order kept).
			res.BatchItemFailures = append(res.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			return res, nil
		}
		r.Log.InfoContext(ctx, "event fanned out", "event_id", ref.ID, "type", ref.Type, "deliveries", n)
	}
	return res, nil
}

func attrString(img map[string]events.DynamoDBAttributeValue, k string) string {
	v, ok := img[k]
	if !ok || v.DataType() != events.DataTypeString {
		return ""
	}
	return v.String()
}

// streamRetention: DynamoDB Streams keep a record 24 hours
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html).
const streamRetention = 24 * time.Hour

// SweepResult is what one sweep did.
type SweepResult struct {
	Pending    int `json:"pending"`
	Deliveries int `json:"deliveries"`
	Failed     int `json:"failed"`
}

// Sweep fans out events still pending MinAge after they were written: the
// change committed but the stream's relay failed or has not run (a crash
// between the change and the send still delivers).
func (r *Relay) Sweep(ctx context.Context) (SweepResult, error) {
	minAge, maxN := r.MinAge, r.SweepMax
	if minAge == 0 {
		minAge = 2 * time.Minute
	}
	if maxN <= 0 {
		maxN = 1000
	}
	if minAge < 0 { // the local runner: everything pending now
		minAge = 0
	}
	upper := IDBound("evt", r.Now().Add(-minAge), true)
	var res SweepResult
	var errs []error
	var refs []EventRef
	for shard := 0; shard < outbox.PendingShards; shard++ {
		err := r.Store.QueryAll(ctx, store.Query{Index: store.GSI1, PK: fmt.Sprintf("%s%d", outbox.PendingPrefix, shard),
			SKFrom: "evt_", SKTo: upper, Limit: 100}, maxN, func(items []map[string]types.AttributeValue) error {
			for _, it := range items {
				if !strings.HasPrefix(itemString(it, "sk"), outbox.SKPrefix) {
					// A marker whose stream record was not handled: the event
					// is written from the item as it is now, unless the item
					// changed since: then only the stream record holds the
					// object the event announces, and the marker is left to
					// the stream for as long as the stream keeps records.
					if at, moved := invoices.MarkerMoved(it); moved && r.Now().Sub(at) < streamRetention {
						continue
					}
					ref, ok, err := r.materialise(ctx, it)
					if err != nil {
						errs = append(errs, err)
					} else if ok {
						refs = append(refs, ref)
					}
					continue
				}
				var e outbox.Event
				if err := attributevalue.UnmarshalMap(it, &e); err != nil {
					return err
				}
				refs = append(refs, EventRef{ID: e.ID, Type: e.Type, PartnerID: e.PartnerID, ObjectID: e.ObjectID})
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	// Shards spread one object's events around: fan out in creation order
	// (IDs are time-sortable), so the FIFO groups receive them in order. Each
	// shard is read oldest first up to maxN, so after the merge the first maxN
	// are the oldest pending overall; the rest wait for the next run.
	sort.Slice(refs, func(i, j int) bool { return refs[i].ID < refs[j].ID })
	if len(refs) > maxN {
		refs = refs[:maxN]
	}
	res.Pending = len(refs)
	n, err := r.FanOut(ctx, refs)
	res.Deliveries = n
	if err != nil {
		res.Failed++
		errs = append(errs, err)
	}
	if res.Pending > 0 {
		r.Log.InfoContext(ctx, "outbox sweep", "pending", res.Pending, "deliveries", res.Deliveries)
	}
	return res, errors.Join(errs...)
}

// IDBound is the smallest (or, with upper, the largest) ID of prefix generated
// at t: IDs are "<prefix>_<ulid>" and a ULID starts with its millisecond time,
// so a time range is a key range.
func IDBound(prefix string, t time.Time, upper bool) string {
	var u ulid.ULID
	_ = u.SetTime(ulid.Timestamp(t))
	s := strings.ToLower(u.String())
	if upper {
		s = s[:10] + strings.Repeat("z", 16)
	}
	return prefix + "_" + s
}

// fromStream converts a stream record's image (aws-lambda-go's types) to the
// SDK's attribute values, to read it as the item it is.
func fromStream(img map[string]events.DynamoDBAttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(img))
	for k, v := range img {
		out[k] = streamAttr(v)
	}
	return out
}

func streamAttr(v events.DynamoDBAttributeValue) types.AttributeValue {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}
	case events.DataTypeList:
		l := make([]types.AttributeValue, 0, len(v.List()))
		for _, e := range v.List() {
			l = append(l, streamAttr(e))
		}
		return &types.AttributeValueMemberL{Value: l}
	case events.DataTypeMap:
		return &types.AttributeValueMemberM{Value: fromStream(v.Map())}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}
