// Package outbox is the contract between the code that changes state and the
// notifications sent to partners (issue 20). A change that partners hear about
// puts one Event item in the SAME DynamoDB transaction as the change itself
// (the transactional outbox pattern), so no change goes unreported and no event
// is ever written for a change that did not commit. Delivery (fan-out to the
// partner's endpoints, signing, retries, the delivery log) reads these items
// afterwards, from the table's stream and, as a safety net, from the pending
// index below; it never runs inside the emitting request.
//
// This package is deliberately tiny: every emitting function links it, so it
// must not pull in HTTP clients, SQS or the delivery code.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/store"
)

// Event types partners can subscribe to. The README lists each with an example
// payload; adding one here means adding it there.
const (
	PayoutItemised          = "payout.itemised"
	ReconciliationCompleted = "reconciliation.completed"
	MatchCreated            = "match.created"
	MatchReversed           = "match.reversed"
	ExceptionOpened         = "exception.opened"
	ExceptionResolved       = "exception.resolved"
	ConnectionCreated       = "connection.created"
	ConnectionRevoked       = "connection.revoked"
	InvoicePaid             = "invoice.paid"
	InvoicePartiallyPaid    = "invoice.partially_paid"
	SplitTransferFailed     = "split.transfer.failed"
)

// Types lists every event type, in the README's order.
var Types = []string{
	PayoutItemised, ReconciliationCompleted, MatchCreated, MatchReversed,
	ExceptionOpened, ExceptionResolved, ConnectionCreated, ConnectionRevoked,
	InvoicePaid, InvoicePartiallyPaid, SplitTransferFailed,
}

// KnownType reports whether t is one of Types.
func KnownType(t string) bool { return slices.Contains(Types, t) }

const (
	// SKPrefix starts every event item's sort key under PARTNER#<id>: "EVT#<event id>".
	// Event IDs are time-sortable ("evt_<ulid>"), so a query on the prefix lists
	// events in creation order and a time range is a key range (replay).
	SKPrefix = "EVT#"
	// PendingPrefix is the gsi1pk of an event not yet fanned out to endpoints,
	// "OUTBOX#PENDING#<shard>", gsi1sk = the event ID. The relay removes both
	// attributes (a sparse index) once every endpoint's delivery is queued, so a
	// sweep finds exactly the events a crash or an outage left behind.
	PendingPrefix = "OUTBOX#PENDING#"
	// PendingShards spreads pending events over a few index partitions.
	PendingShards = 8
	// MaxData caps the object carried by an event. Emitters send the object as
	// the API returns it; API objects are already bounded (docs/sizes.md), and an
	// event larger than this is a bug, refused before the transaction.
	MaxData = 64 << 10
	// Retention: event items (and their delivery log) expire after 30 days, as
	// Stripe keeps events for 30 days (docs.stripe.com/api/events).
	Retention = 30 * 24 * time.Hour
)

// ErrTooLarge is returned by New when the object is over MaxData.
var ErrTooLarge = errors.New("outbox: event object over the size cap")

// Event is one notification, stored as an item and sent as JSON.
type Event struct {
	store.Keys
	ID        string    `dynamodbav:"id" json:"id"`
	Type      string    `dynamodbav:"type" json:"type"`
	Created   time.Time `dynamodbav:"created" json:"created"`
	PartnerID string    `dynamodbav:"partner_id" json:"-"`
	CompanyID string    `dynamodbav:"company_id" json:"company_id,omitempty"`
	// ObjectID names the object the event is about (po_…, mt_…, inv_…, a
	// connection's account ID…). Deliveries to one endpoint about one object go
	// out in order: it is the SQS FIFO message group (with the endpoint ID).
	ObjectID string `dynamodbav:"object_id" json:"-"`
	// Data is the object as the API returns it (JSON), at the time of the change.
	Data string `dynamodbav:"data" json:"-"`
}

// New builds an event. id must come from ids.Generator.ID("evt") (time-sortable);
// obj is marshalled with encoding/json exactly as the API would answer it.
func New(id, typ, partnerID, companyID, objectID string, obj any, now time.Time) (Event, error) {
	if !KnownType(typ) {
		return Event{}, fmt.Errorf("outbox: unknown event type %q", typ)
	}
	if partnerID == "" || objectID == "" || id == "" {
		return Event{}, fmt.Errorf("outbox: %s event needs an ID, a partner and an object", typ)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return Event{}, fmt.Errorf("outbox: %s: %w", typ, err)
	}
	if len(data) > MaxData {
		return Event{}, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, typ, len(data))
	}
	now = now.UTC().Truncate(time.Millisecond)
	return Event{
		Keys: store.Keys{
			PK: store.PartnerPK(partnerID), SK: SKPrefix + id,
			GSI1PK: PendingPrefix + shard(id), GSI1SK: id, // PendingKeys
			TTL: now.Add(Retention).Unix(),
		},
		ID: id, Type: typ, Created: now, PartnerID: partnerID, CompanyID: companyID,
		ObjectID: objectID, Data: string(data),
	}, nil
}

// PendingKeys are the gsi1pk and gsi1sk that put the event id on the pending
// index: an event item's (New), or the marker of an item that announces its
// own change and whose event the relay writes from the item (invoices).
func PendingKeys(id string) (gsi1pk, gsi1sk string) { return PendingPrefix + shard(id), id }

func shard(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return fmt.Sprint(h.Sum32() % PendingShards)
}

// TxItem is the Put to add to the change's TransactWriteItems. The condition
// makes a replayed transaction fail rather than emit the event twice.
func (e Event) TxItem(table string) (types.TransactWriteItem, error) {
	av, err := store.Marshal(e)
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("outbox: marshal: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(table), Item: av,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}, nil
}

// PutOnce writes e unless an item with its key exists: an event written from
// a marker (a stream retry, the sweep) is written once however often it is seen.
func (e Event) PutOnce(ctx context.Context, st *store.Store) error {
	err := st.PutNew(ctx, e)
	if errors.Is(err, store.ErrConditionFailed) {
		return nil
	}
	return err
}

// ErrBadData is returned by Body when the stored object is not JSON (New
// always writes JSON; an item changed by hand or corrupted is not sendable).
var ErrBadData = errors.New("outbox: stored event data is not JSON")

// Body is the JSON a partner receives (and GET /v1/events/{id} returns):
//
//	{"id":"evt_…","type":"invoice.paid","created":"2026-11-27T09:30:00.123Z",
//	 "company_id":"co_…","data":{"object":{…the object as the API returns it…}}}
func (e Event) Body() ([]byte, error) {
	if !json.Valid([]byte(e.Data)) {
		return nil, fmt.Errorf("%w: event %s", ErrBadData, e.ID)
	}
	type data struct {
		Object json.RawMessage `json:"object"`
	}
	b, err := json.Marshal(struct {
		ID        string    `json:"id"`
		Type      string    `json:"type"`
		Created   time.Time `json:"created"`
		CompanyID string    `json:"company_id,omitempty"`
		Data      data      `json:"data"`
	}{e.ID, e.Type, e.Created, e.CompanyID, data{json.RawMessage(e.Data)}})
	if err != nil {
		return nil, fmt.Errorf("outbox: event %s: %w", e.ID, err)
	}
	return b, nil
}
