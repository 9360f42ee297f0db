package reconsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/recon"
	"github.com/payrecon/payrecon/shared/store"
)

// RaiseSourceException opens (or refreshes) an exception raised outside the
// matcher, e.g. a Plaid Item that needs its user to log in again. key makes it
// idempotent; reconcile runs never resolve it (ResolveSourceException does).
func (s *Service) RaiseSourceException(ctx context.Context, pid, cid, source, key, reason, message string) (Exception, error) {
	now := s.now()
	x := newException(pid, cid, recon.Exception{Key: source + ":" + key, Reason: reason, Message: message, Date: recon.DateFromTime(now)}, now)
	x.Source = source
	var prev Exception
	if err := s.Store.Get(ctx, x.PK, x.SK, &prev); err == nil {
		if prev.Status == ExceptionOpen && prev.Message == x.Message && prev.Reason == x.Reason {
			return prev, nil
		}
		if prev.Status == ExceptionOpen {
			x.FirstSeen, x.Date, x.GSI1SK = prev.FirstSeen, prev.Date, prev.GSI1SK
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return Exception{}, err
	}
	if err := s.Store.Put(ctx, x); err != nil {
		return Exception{}, fmt.Errorf("write exception: %w", err)
	}
	return x, nil
}

// ResolveSourceException resolves an open exception raised by RaiseSourceException (no-op otherwise).
func (s *Service) ResolveSourceException(ctx context.Context, pid, cid, source, key string) error {
	pk := store.CompanyPK(pid, cid)
	values, _ := store.Values(map[string]any{":r": ExceptionResolved, ":o": ExceptionOpen, ":now": s.now()})
	_, err := s.Store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Store.Table), Key: store.Key(pk, skExc+exceptionID(source+":"+key)),
		UpdateExpression:          aws.String("SET #st = :r, resolved_at = :now REMOVE gsi1pk, gsi1sk"),
		ConditionExpression:       aws.String("#st = :o"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("resolve exception: %w", err)
	}
	return nil
}
