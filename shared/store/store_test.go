package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/local/testenv"
	"github.com/payrecon/payrecon/shared/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type item struct {
	store.Keys
	Partner string `dynamodbav:"partner_id"`
	N       int    `dynamodbav:"n"`
}

func put(t *testing.T, s *store.Store, pk, sk string, n int) {
	t.Helper()
	it := item{Partner: pk, N: n}
	it.PK, it.SK = pk, sk
	if err := s.Put(context.Background(), it); err != nil {
		t.Fatal(err)
	}
}

func TestQueryPagesAndScopesCursors(t *testing.T) {
	env := testenv.New(t)
	s, ctx := env.Store, context.Background()
	for i := 0; i < 25; i++ {
		put(t, s, store.PartnerPK("A"), fmt.Sprintf("X#%03d", i), i)
		put(t, s, store.PartnerPK("B"), fmt.Sprintf("X#%03d", i), 100+i)
	}
	var all []item
	cursor := ""
	for pages := 0; ; pages++ {
		var page []item
		next, err := s.QueryPage(ctx, store.Query{PK: store.PartnerPK("A"), SKPrefix: "X#", Desc: true, Limit: 10, Cursor: cursor}, &page)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("too many pages")
		}
		t.Run(fmt.Sprintf("cursor of A refused for B page %d", pages), func(t *testing.T) {
			var other []item
			_, err := s.QueryPage(ctx, store.Query{PK: store.PartnerPK("B"), SKPrefix: "X#", Limit: 10, Cursor: next}, &other)
			if !apperr.Is(err, apperr.Invalid) || len(other) != 0 {
				t.Fatalf("cross-partner cursor: err=%v items=%d", err, len(other))
			}
		})
		cursor = next
	}
	if len(all) != 25 || all[0].N != 24 || all[24].N != 0 {
		t.Fatalf("got %d items, first %d", len(all), all[0].N)
	}
	for _, it := range all {
		if it.N >= 100 {
			t.Fatal("B's item in A's list")
		}
	}
	for _, bad := range []string{"%%%", "eyJ4IjoxfQ", "e30"} {
		t.Run("garbage cursor "+bad, func(t *testing.T) {
			var page []item
			if _, err := s.QueryPage(ctx, store.Query{PK: store.PartnerPK("A"), Cursor: bad}, &page); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestConditionalWrites(t *testing.T) {
	env := testenv.New(t)
	s, ctx := env.Store, context.Background()
	it := item{N: 1}
	it.PK, it.SK = "P", "S"
	if err := s.PutNew(ctx, it); err != nil {
		t.Fatal(err)
	}
	if err := s.PutNew(ctx, it); !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("second PutNew: %v", err)
	}
	t.Run("one winner of concurrent deletes", func(t *testing.T) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var old item
				if err := s.DeleteExisting(ctx, "P", "S", &old); err == nil && old.N == 1 {
					wins.Add(1)
				} else if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d winners", wins.Load())
		}
	})
	var got item
	if err := s.Get(ctx, "P", "S", &got); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
}

func TestQueryAllBounded(t *testing.T) {
	env := testenv.New(t)
	s, ctx := env.Store, context.Background()
	for i := 0; i < 30; i++ {
		put(t, s, "ALL", fmt.Sprintf("X#%03d", i), i)
	}
	for _, tc := range []struct {
		name      string
		max, want int
	}{{"everything", 0, 30}, {"capped", 20, 20}} {
		t.Run(tc.name, func(t *testing.T) {
			got := 0
			err := s.QueryAll(ctx, store.Query{PK: "ALL", Limit: 10}, tc.max, func(items []map[string]types.AttributeValue) error {
				got += len(items)
				return nil
			})
			if err != nil || got != tc.want {
				t.Fatalf("got %d items, err %v", got, err)
			}
		})
	}
}

// TestGetEach: items of one partition read together land in their own
// outputs; a missing one is reported, not an error; another partition's item
// of the same sort key is never read.
func TestGetEach(t *testing.T) {
	env := testenv.New(t)
	s, ctx := env.Store, context.Background()
	put(t, s, store.PartnerPK("A"), "X#1", 1)
	put(t, s, store.PartnerPK("A"), "X#2", 2)
	put(t, s, store.PartnerPK("B"), "X#3", 3)
	tests := []struct {
		name    string
		sks     []string
		want    []int
		wantErr bool
	}{
		{"both present", []string{"X#2", "X#1"}, []int{2, 1}, false},
		{"one missing", []string{"X#1", "X#9"}, []int{1, -1}, false},
		{"another partition's key is missing here", []string{"X#3"}, []int{-1}, false},
		{"a key asked twice", []string{"X#1", "X#1"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outs := make([]any, len(tc.sks))
			for i := range outs {
				outs[i] = &item{}
			}
			found, err := s.GetEach(ctx, store.PartnerPK("A"), tc.sks, outs)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tc.want {
				got := outs[i].(*item)
				if found[i] != (w >= 0) || (w >= 0 && got.N != w) {
					t.Fatalf("%s: found %v n %d, want %d", tc.sks[i], found[i], got.N, w)
				}
			}
		})
	}
}

// TestUpdateWith: an update applies alone or with its extra writes, all or
// nothing, and any failed condition (its own or an extra's) is
// ErrConditionFailed.
func TestUpdateWith(t *testing.T) {
	env := testenv.New(t)
	s, ctx := env.Store, context.Background()
	pk := store.PartnerPK("U")
	put(t, s, pk, "U#1", 1)
	setTo := func(n, when int) *types.Update {
		av, err := store.Values(map[string]any{":n": n, ":w": when})
		if err != nil {
			t.Fatal(err)
		}
		return &types.Update{TableName: &s.Table, Key: store.Key(pk, "U#1"), UpdateExpression: str("SET n = :n"),
			ConditionExpression: str("n = :w"), ExpressionAttributeValues: av}
	}
	extra := func(sk, cond string) []types.TransactWriteItem {
		in, err := s.PutInput(item{Keys: store.Keys{PK: pk, SK: sk}, N: 7}, cond, nil)
		if err != nil {
			t.Fatal(err)
		}
		return []types.TransactWriteItem{store.TxPut(in)}
	}
	put(t, s, pk, "U#taken", 0)
	for _, tc := range []struct {
		name      string
		u         *types.Update
		extra     []types.TransactWriteItem
		wantErr   error
		wantN     int
		extraMade string
	}{
		{"alone", setTo(2, 1), nil, nil, 2, ""},
		{"alone, condition failed", setTo(3, 1), nil, store.ErrConditionFailed, 2, ""},
		{"with an extra write", setTo(3, 2), extra("U#x", "attribute_not_exists(pk)"), nil, 3, "U#x"},
		{"with an extra write whose condition fails", setTo(4, 3), extra("U#taken", "attribute_not_exists(pk)"), store.ErrConditionFailed, 3, ""},
		{"its own condition failed, the extra is not written", setTo(4, 1), extra("U#y", "attribute_not_exists(pk)"), store.ErrConditionFailed, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.UpdateWith(ctx, tc.u, tc.extra); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			var got item
			if err := s.Get(ctx, pk, "U#1", &got); err != nil || got.N != tc.wantN {
				t.Fatalf("n = %d (%v), want %d", got.N, err, tc.wantN)
			}
			if tc.extraMade != "" {
				if err := s.Get(ctx, pk, tc.extraMade, &got); err != nil || got.N != 7 {
					t.Fatalf("extra %s: %+v %v", tc.extraMade, got, err)
				}
			}
		})
	}
	if err := s.Get(ctx, pk, "U#y", &item{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an extra of a failed update was written: %v", err)
	}
}

func str(s string) *string { return &s }
