// Package store is the DynamoDB single-table store: key helpers, conditional
// writes, transactions and cursor pagination. Every key that holds partner
// data starts with PARTNER#<id>, so a query built from the authenticated
// partner can only ever see that partner's items.
package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
)

// Sentinel errors.
var (
	ErrNotFound        = errors.New("store: item not found")
	ErrConditionFailed = errors.New("store: condition failed")
)

// API is the part of the DynamoDB client the store uses (a consumer-owned interface,
// so fault-injection tests can wrap it).
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Store wraps one table.
type Store struct {
	DB    API
	Table string
	// MaxTransact is the most actions one TransactWriteItems takes: 100 in AWS
	// (the default when 0); DynamoDB Local's build here takes 10.
	MaxTransact int
}

// Limits of TransactWriteItems: AWS's, and DynamoDB Local's (the jar the local
// stack runs answers "Member must have length less than or equal to 10").
const (
	MaxTransactAWS   = 100
	MaxTransactLocal = 10
)

// TxLimit is the most actions a transaction may hold on this table.
func (s *Store) TxLimit() int {
	if s.MaxTransact > 0 {
		return s.MaxTransact
	}
	return MaxTransactAWS
}

// New returns a store on table.
func New(db API, table string) *Store { return &Store{DB: db, Table: table} }

// Keys are the attributes every item carries. Embed it in item structs.
type Keys struct {
	PK     string `dynamodbav:"pk" json:"-"`
	SK     string `dynamodbav:"sk" json:"-"`
	GSI1PK string `dynamodbav:"gsi1pk,omitempty" json:"-"`
	GSI1SK string `dynamodbav:"gsi1sk,omitempty" json:"-"`
	// TTL is epoch seconds; DynamoDB deletes the item some time after it (up to ~48 h late).
	TTL int64 `dynamodbav:"ttl,omitempty" json:"-"`
}

// Key builders. Partner-owned data always sits under PartnerPK or CompanyPK.
func PartnerPK(partnerID string) string { return "PARTNER#" + partnerID }

// CompanyPK is the partition of everything belonging to one company.
func CompanyPK(partnerID, companyID string) string {
	return "PARTNER#" + partnerID + "#COMPANY#" + companyID
}

// GSI1 is the name of the first global secondary index (gsi1pk/gsi1sk).
const GSI1 = "gsi1"

// Key returns a primary key map.
func Key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// Get reads one item into out; ErrNotFound when absent. Strongly consistent.
func (s *Store) Get(ctx context.Context, pk, sk string, out any) error {
	res, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: Key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", pk, sk, err)
	}
	if res.Item == nil {
		return ErrNotFound
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}

// Marshal encodes an item, dropping empty-string attributes: DynamoDB Local
// rejects them, and reading a missing attribute gives the same zero value.
func Marshal(item any) (map[string]types.AttributeValue, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return nil, err
	}
	stripEmpty(av)
	return av, nil
}

func stripEmpty(m map[string]types.AttributeValue) {
	for k, v := range m {
		switch t := v.(type) {
		case *types.AttributeValueMemberS:
			if t.Value == "" {
				delete(m, k)
			}
		case *types.AttributeValueMemberM:
			stripEmpty(t.Value)
		case *types.AttributeValueMemberL:
			for i, e := range t.Value {
				if sv, ok := e.(*types.AttributeValueMemberS); ok && sv.Value == "" {
					t.Value[i] = &types.AttributeValueMemberNULL{Value: true}
				} else if mv, ok := e.(*types.AttributeValueMemberM); ok {
					stripEmpty(mv.Value)
				}
			}
		}
	}
}

// Put writes item unconditionally.
func (s *Store) Put(ctx context.Context, item any) error {
	av, err := Marshal(item)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: av})
	return err
}

// PutNew writes item only if no item has its key; ErrConditionFailed otherwise.
func (s *Store) PutNew(ctx context.Context, item any) error {
	return s.PutIf(ctx, item, "attribute_not_exists(pk)", nil)
}

// PutIf writes item when cond holds; ErrConditionFailed otherwise.
// values use ":name" placeholders, marshalled with attributevalue.
func (s *Store) PutIf(ctx context.Context, item any, cond string, values map[string]any) error {
	in, err := s.PutInput(item, cond, values)
	if err != nil {
		return err
	}
	_, err = s.DB.PutItem(ctx, in)
	return condErr(err)
}

// PutInput builds a conditional put, also usable inside a transaction.
func (s *Store) PutInput(item any, cond string, values map[string]any) (*dynamodb.PutItemInput, error) {
	av, err := Marshal(item)
	if err != nil {
		return nil, fmt.Errorf("marshal: %w", err)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: av}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
		if in.ExpressionAttributeValues, err = Values(values); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Values marshals expression attribute values.
func Values(values map[string]any) (map[string]types.AttributeValue, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := make(map[string]types.AttributeValue, len(values))
	for k, v := range values {
		av, err := attributevalue.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

// Delete removes an item; no error when absent.
func (s *Store) Delete(ctx context.Context, pk, sk string) error {
	_, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Table), Key: Key(pk, sk)})
	return err
}

// DeleteExisting removes an item and returns it into old (if non-nil);
// ErrNotFound when it was not there. Exactly one of two concurrent callers succeeds.
func (s *Store) DeleteExisting(ctx context.Context, pk, sk string, old any) error {
	res, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.Table), Key: Key(pk, sk),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ReturnValues:        types.ReturnValueAllOld,
	})
	if err := condErr(err); err != nil {
		if errors.Is(err, ErrConditionFailed) {
			return ErrNotFound
		}
		return err
	}
	if old != nil {
		return attributevalue.UnmarshalMap(res.Attributes, old)
	}
	return nil
}

// Transact runs up to 100 writes atomically. A failed condition anywhere returns ErrConditionFailed.
func (s *Store) Transact(ctx context.Context, items []types.TransactWriteItem) error {
	if len(items) == 0 {
		return nil
	}
	_, err := s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return condErr(err)
}

// UpdateWith applies u, alone (UpdateItem) or, with extra writes (an event
// that must exist iff u applied), in one transaction with them. A failed
// condition returns ErrConditionFailed.
func (s *Store) UpdateWith(ctx context.Context, u *types.Update, extra []types.TransactWriteItem) error {
	if len(extra) > 0 {
		return s.Transact(ctx, append([]types.TransactWriteItem{{Update: u}}, extra...))
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	})
	return condErr(err)
}

// TxPut makes a transactional put from PutInput's output.
func TxPut(in *dynamodb.PutItemInput) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName: in.TableName, Item: in.Item, ConditionExpression: in.ConditionExpression,
		ExpressionAttributeValues: in.ExpressionAttributeValues, ExpressionAttributeNames: in.ExpressionAttributeNames,
	}}
}

// TxDelete makes a transactional delete, optionally conditional.
func (s *Store) TxDelete(pk, sk, cond string) types.TransactWriteItem {
	d := &types.Delete{TableName: aws.String(s.Table), Key: Key(pk, sk)}
	if cond != "" {
		d.ConditionExpression = aws.String(cond)
	}
	return types.TransactWriteItem{Delete: d}
}

func condErr(err error) error {
	if err == nil {
		return nil
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ErrConditionFailed
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if r.Code != nil && *r.Code == "ConditionalCheckFailed" {
				return ErrConditionFailed
			}
		}
	}
	return err
}

// Query lists one partition, optionally by sort-key prefix and on GSI1.
type Query struct {
	PK       string
	SKPrefix string
	// SKFrom/SKTo bound the sort key (inclusive) instead of a prefix.
	SKFrom, SKTo string
	Index        string // "" for the table, GSI1 for the index
	Desc         bool   // newest first when sort keys are time-ordered IDs
	Limit        int32  // page size; 0 means 100
	Cursor       string // opaque cursor from a previous page
	Filter       string // optional filter expression
	Values       map[string]any
	Names        map[string]string
}

// QueryPage runs one page of q and unmarshals items into out (a pointer to a slice).
// The returned cursor is "" on the last page. A cursor from another partition is
// refused (400), so a client cannot page into data it does not own.
func (s *Store) QueryPage(ctx context.Context, q Query, out any) (string, error) {
	pkName, skName := "pk", "sk"
	if q.Index == GSI1 {
		pkName, skName = "gsi1pk", "gsi1sk"
	}
	values := map[string]any{":pk": q.PK}
	cond := "#pk = :pk"
	names := map[string]string{"#pk": pkName}
	switch {
	case q.SKPrefix != "":
		cond += " AND begins_with(#sk, :skp)"
		values[":skp"] = q.SKPrefix
		names["#sk"] = skName
	case q.SKFrom != "" && q.SKTo != "":
		cond += " AND #sk BETWEEN :skf AND :skt"
		values[":skf"], values[":skt"] = q.SKFrom, q.SKTo
		names["#sk"] = skName
	}
	for k, v := range q.Values {
		values[k] = v
	}
	for k, v := range q.Names {
		names[k] = v
	}
	av, err := Values(values)
	if err != nil {
		return "", err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.Table), KeyConditionExpression: aws.String(cond),
		ExpressionAttributeValues: av, ExpressionAttributeNames: names,
		ScanIndexForward: aws.Bool(!q.Desc), Limit: aws.Int32(limit),
	}
	if q.Index != "" {
		in.IndexName = aws.String(q.Index)
	} else {
		in.ConsistentRead = aws.Bool(true)
	}
	if q.Filter != "" {
		in.FilterExpression = aws.String(q.Filter)
	}
	if q.Cursor != "" {
		start, err := decodeCursor(q.Cursor, pkName, q.PK)
		if err != nil {
			return "", err
		}
		// DynamoDB refuses a start key outside the key condition (a 500 otherwise).
		sk := start[skName].(*types.AttributeValueMemberS).Value
		if q.SKPrefix != "" && !strings.HasPrefix(sk, q.SKPrefix) ||
			q.SKPrefix == "" && q.SKFrom != "" && q.SKTo != "" && (sk < q.SKFrom || sk > q.SKTo) {
			return "", apperr.New(apperr.Invalid, "cursor is not valid for this list")
		}
		in.ExclusiveStartKey = start
	}
	res, err := s.DB.Query(ctx, in)
	if err != nil {
		return "", fmt.Errorf("query %s: %w", q.PK, err)
	}
	if raw, ok := out.(*[]map[string]types.AttributeValue); ok {
		*raw = res.Items // QueryAll and callers that decode items themselves
	} else if err := attributevalue.UnmarshalListOfMaps(res.Items, out); err != nil {
		return "", fmt.Errorf("unmarshal: %w", err)
	}
	return encodeCursor(res.LastEvaluatedKey), nil
}

// QueryAll pages through the whole result, calling fn with each page's raw items.
// It stops after maxItems items (0 = no cap) so memory stays bounded.
func (s *Store) QueryAll(ctx context.Context, q Query, maxItems int, fn func(items []map[string]types.AttributeValue) error) error {
	seen := 0
	for {
		var page []map[string]types.AttributeValue
		next, err := s.QueryPage(ctx, q, &page)
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		seen += len(page)
		if next == "" || (maxItems > 0 && seen >= maxItems) {
			return nil
		}
		q.Cursor = next
	}
}

func encodeCursor(key map[string]types.AttributeValue) string {
	if len(key) == 0 {
		return ""
	}
	m := make(map[string]string, len(key))
	for k, v := range key {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			m[k] = s.Value
		}
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c, pkName, wantPK string) (map[string]types.AttributeValue, error) {
	bad := apperr.New(apperr.Invalid, "cursor is not valid for this list")
	if len(c) > 2048 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || len(m) == 0 || len(m) > 4 {
		return nil, bad
	}
	// The cursor must point into the partition being listed: the partition is
	// derived from the caller's identity, so this keeps paging inside its data.
	if m[pkName] != wantPK {
		return nil, bad
	}
	// Exactly the key attributes of the table (pk, sk) or of the index (plus
	// gsi1pk, gsi1sk), non-empty: DynamoDB rejects any other start key (a 500).
	keys := []string{"pk", "sk"}
	if pkName != "pk" {
		keys = append(keys, pkName, strings.TrimSuffix(pkName, "pk")+"sk")
	}
	if len(m) != len(keys) {
		return nil, bad
	}
	out := make(map[string]types.AttributeValue, len(m))
	for _, k := range keys {
		if m[k] == "" {
			return nil, bad
		}
		out[k] = &types.AttributeValueMemberS{Value: m[k]}
	}
	return out, nil
}
