package outbox

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payrecon/payrecon/shared/ids"
)

func TestEmit(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	var typedNil *ids.Generator
	tests := []struct {
		name    string
		ids     IDs
		wantErr error
	}{
		{name: "with a generator", ids: ids.New()},
		{name: "no generator wired", ids: nil, wantErr: ErrNoIDs},
		{name: "a nil generator", ids: typedNil, wantErr: ErrNoIDs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := Emit("tbl", tc.ids, now, MatchCreated, "pt_1", "co_1", "mt_1", map[string]string{"id": "mt_1"})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || tx.Put == nil || *tx.Put.ConditionExpression != "attribute_not_exists(pk)" {
				t.Fatalf("%+v %v", tx, err)
			}
			str := func(k string) string {
				v, _ := tx.Put.Item[k].(*types.AttributeValueMemberS)
				if v == nil {
					return ""
				}
				return v.Value
			}
			if id := str("id"); !strings.HasPrefix(id, "evt_") || str("sk") != SKPrefix+id || str("type") != MatchCreated || str("object_id") != "mt_1" {
				t.Fatalf("event item %v", tx.Put.Item)
			}
		})
	}
}
