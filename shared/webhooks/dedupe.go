package webhooks

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Dedupe without a marker item. An event that changes a payment (the common
// case: a payment intent or charge paying an invoice) records its ID in the
// payment item itself, in the same conditional update, so it writes the payment
// and the invoice and nothing else (2 items, not 3). Every other event
// (payouts, ignored, rejected) keeps its EVENT#… marker item.
//
// A payment gets a handful of events over its life (processing, succeeded,
// charge, refunds, disputes), so the set stays small; unlike a marker it does
// not expire, which only means duplicates are recognised for longer.
const (
	eventsAttr     = "event_ids"
	eventsName     = "#dedupe_events"
	eventValue     = ":dedupe_event"
	eventSetValue  = ":dedupe_events"
	paymentsEffect = "payment"
)

// dedupeHost is the index of the effect that carries the dedupe record, or -1
// for a marker item: the payment update, unless its expression already has an
// ADD clause (a second one would be invalid).
func dedupeHost(kept []effect) int {
	for i, e := range kept {
		if e.name == paymentsEffect && e.tx.Update != nil && !strings.Contains(aws.ToString(e.tx.Update.UpdateExpression), "ADD ") {
			return i
		}
	}
	return -1
}

// withDedupe adds the event ID to the item, on condition that it is not there yet.
func withDedupe(tx types.TransactWriteItem, eventID string) types.TransactWriteItem {
	u := *tx.Update
	u.ExpressionAttributeNames = maps.Clone(u.ExpressionAttributeNames)
	if u.ExpressionAttributeNames == nil {
		u.ExpressionAttributeNames = map[string]string{}
	}
	u.ExpressionAttributeNames[eventsName] = eventsAttr
	u.ExpressionAttributeValues = maps.Clone(u.ExpressionAttributeValues)
	if u.ExpressionAttributeValues == nil {
		u.ExpressionAttributeValues = map[string]types.AttributeValue{}
	}
	u.ExpressionAttributeValues[eventValue] = &types.AttributeValueMemberS{Value: eventID}
	u.ExpressionAttributeValues[eventSetValue] = &types.AttributeValueMemberSS{Value: []string{eventID}}
	u.UpdateExpression = aws.String(aws.ToString(u.UpdateExpression) + " ADD " + eventsName + " " + eventSetValue)
	cond := "NOT contains(" + eventsName + ", " + eventValue + ")"
	if c := aws.ToString(u.ConditionExpression); c != "" {
		cond += " AND (" + c + ")"
	}
	u.ConditionExpression = aws.String(cond)
	return types.TransactWriteItem{Update: &u}
}

// eventIn reports whether the item of tx has recorded eventID (a strongly
// consistent read, only after a condition failed: duplicate or stale?).
func (s *Service) eventIn(ctx context.Context, tx types.TransactWriteItem, eventID string) (bool, error) {
	out, err := s.Store.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: tx.Update.TableName, Key: tx.Update.Key, ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String(eventsName), ExpressionAttributeNames: map[string]string{eventsName: eventsAttr},
	})
	if err != nil {
		return false, err
	}
	set, _ := out.Item[eventsAttr].(*types.AttributeValueMemberSS)
	return set != nil && slices.Contains(set.Value, eventID), nil
}

// forgetEvent removes eventID from the item's set, so a retry runs the event again.
func (s *Service) forgetEvent(ctx context.Context, tx types.TransactWriteItem, eventID string) error {
	_, err := s.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: tx.Update.TableName, Key: tx.Update.Key,
		UpdateExpression:          aws.String("DELETE " + eventsName + " " + eventSetValue),
		ExpressionAttributeNames:  map[string]string{eventsName: eventsAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{eventSetValue: &types.AttributeValueMemberSS{Value: []string{eventID}}},
	})
	return err
}
