package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB's per-call limits for batches.
const (
	MaxBatchGet   = 100 // keys per BatchGetItem
	MaxBatchWrite = 25  // requests per BatchWriteItem
)

// backoff waits before retrying unprocessed keys or items (the SDK retries
// throttled calls itself; this is for the partial successes DynamoDB returns).
func backoff(ctx context.Context, attempt int) error {
	if attempt > 8 {
		return errors.New("unprocessed after retries")
	}
	if attempt == 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(10<<attempt) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BatchGet reads keys (strongly consistent), MaxBatchGet per call, retrying
// unprocessed keys, and hands each answer's items to fn (in no particular order).
func (s *Store) BatchGet(ctx context.Context, keys []map[string]types.AttributeValue, fn func(items []map[string]types.AttributeValue) error) error {
	for start := 0; start < len(keys); start += MaxBatchGet {
		req := map[string]types.KeysAndAttributes{s.Table: {Keys: keys[start:min(start+MaxBatchGet, len(keys))], ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if err := backoff(ctx, attempt); err != nil {
				return fmt.Errorf("batch get: %w", err)
			}
			res, err := s.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return fmt.Errorf("batch get: %w", err)
			}
			if err := fn(res.Responses[s.Table]); err != nil {
				return err
			}
			req = res.UnprocessedKeys
		}
	}
	return nil
}

// BatchWrite applies write requests, MaxBatchWrite per call, retrying
// unprocessed items. It is not atomic: callers order their writes so that a
// retry after a partial failure completes them.
func (s *Store) BatchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for start := 0; start < len(reqs); start += MaxBatchWrite {
		pending := map[string][]types.WriteRequest{s.Table: reqs[start:min(start+MaxBatchWrite, len(reqs))]}
		for attempt := 0; len(pending[s.Table]) > 0; attempt++ {
			if err := backoff(ctx, attempt); err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			res, err := s.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			pending = res.UnprocessedItems
		}
	}
	return nil
}

// PutRequest marshals item (store.Marshal) as a batch put.
func PutRequest(item any) (types.WriteRequest, error) {
	av, err := Marshal(item)
	if err != nil {
		return types.WriteRequest{}, err
	}
	return types.WriteRequest{PutRequest: &types.PutRequest{Item: av}}, nil
}

// DeleteRequest is a batch delete of one key.
func DeleteRequest(pk, sk string) types.WriteRequest {
	return types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: Key(pk, sk)}}
}

// BatchGetAs is BatchGet decoding each item as T.
func BatchGetAs[T any](ctx context.Context, s *Store, keys []map[string]types.AttributeValue, fn func(T)) error {
	return s.BatchGet(ctx, keys, func(items []map[string]types.AttributeValue) error {
		var page []T
		if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
			return err
		}
		for _, v := range page {
			fn(v)
		}
		return nil
	})
}

// GetEach reads items of one partition by sort key in one BatchGetItem
// (strongly consistent) and unmarshals each into the out at the same index;
// found[i] says whether sks[i] exists. For a handful of items a request needs
// together: one round trip instead of one each.
func (s *Store) GetEach(ctx context.Context, pk string, sks []string, outs []any) (found []bool, err error) {
	if len(sks) != len(outs) || len(sks) > MaxBatchGet {
		return nil, fmt.Errorf("get each: %d keys for %d outputs (at most %d)", len(sks), len(outs), MaxBatchGet)
	}
	keys := make([]map[string]types.AttributeValue, len(sks))
	at := make(map[string]int, len(sks))
	for i, sk := range sks {
		if _, dup := at[sk]; dup {
			return nil, fmt.Errorf("get each: %s asked twice", sk)
		}
		keys[i], at[sk] = Key(pk, sk), i
	}
	found = make([]bool, len(sks))
	err = s.BatchGet(ctx, keys, func(items []map[string]types.AttributeValue) error {
		for _, it := range items {
			sk, _ := it["sk"].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			i, ok := at[sk.Value]
			if !ok {
				continue
			}
			if err := attributevalue.UnmarshalMap(it, outs[i]); err != nil {
				return err
			}
			found[i] = true
		}
		return nil
	})
	return found, err
}
