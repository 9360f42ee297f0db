package invoices

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/outbox"
)

// An invoice announces its own status moves (invoice.paid,
// invoice.partially_paid): the update that moves it also sets a marker on the
// item (the event's ID on the outbox's pending index as gsi1pk/gsi1sk, its
// type and time), instead of writing an event item in the same transaction. The
// object "as the API returns it" is only known once the update has applied
// (the hot path writes without reading the invoice), so the notifications
// relay writes the event item from the item as the change left it: the table
// stream's NEW_IMAGE, or, for the sweep, the item found on the pending index.
// The event exists iff the change committed (the marker is part of it), once
// (its ID is the marker's, written with attribute_not_exists), and the relay
// clears the marker only while it still names that event.

// PendingEvent is the event an invoice item's marker announces, built from the
// item (the invoice as the API returns it). ok is false when the item carries
// no marker. The event item is not itself pending: the marker is, until the
// relay has fanned the event out.
func PendingEvent(item map[string]types.AttributeValue) (outbox.Event, bool, error) {
	var inv Invoice
	if err := attributevalue.UnmarshalMap(item, &inv); err != nil {
		return outbox.Event{}, false, err
	}
	if inv.EventType == "" || inv.EventAt == nil || inv.GSI1SK == "" || !strings.HasPrefix(inv.GSI1PK, outbox.PendingPrefix) || !strings.HasPrefix(inv.SK, skPrefix) {
		return outbox.Event{}, false, nil
	}
	ev, err := outbox.New(inv.GSI1SK, inv.EventType, inv.PartnerID, inv.CompanyID, inv.ID, inv, *inv.EventAt)
	if err != nil {
		return outbox.Event{}, false, err
	}
	ev.GSI1PK, ev.GSI1SK = "", ""
	return ev, true, nil
}

// MarkerAttrs are the attributes of the marker, removed once the event is out.
const MarkerAttrs = "gsi1pk, gsi1sk, evt_type, evt_at"

// MarkerMoved reports when an item's marker was set and whether the item has
// changed since: the change that sets a marker sets updated_at to evt_at, and
// every later change of what the API returns (totals, status) moves updated_at
// on. A moved item is no longer the object its event announces; the stream
// record of the marker's change still is.
func MarkerMoved(item map[string]types.AttributeValue) (at time.Time, moved bool) {
	var m struct {
		UpdatedAt time.Time  `dynamodbav:"updated_at"`
		EventAt   *time.Time `dynamodbav:"evt_at"`
	}
	if err := attributevalue.UnmarshalMap(item, &m); err != nil || m.EventAt == nil {
		return time.Time{}, false
	}
	return *m.EventAt, !m.UpdatedAt.Equal(*m.EventAt)
}
