package store

import (
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FuzzDecodeCursor: a client-supplied cursor never panics the decoder, and any
// cursor it accepts is a well-formed start key (exactly the key attributes of
// the table or index, non-empty strings) inside the partition being listed.
func FuzzDecodeCursor(f *testing.F) {
	const pk = "PARTNER#pt_1#COMPANY#co_1"
	enc := func(m map[string]string) string {
		av := map[string]types.AttributeValue{}
		for k, v := range m {
			av[k] = &types.AttributeValueMemberS{Value: v}
		}
		return encodeCursor(av)
	}
	f.Add(enc(map[string]string{"pk": pk, "sk": "INVOICE#inv_1"}), false, pk)
	f.Add(enc(map[string]string{"pk": pk, "sk": "INVOICE#inv_1", "gsi1pk": pk, "gsi1sk": "2026-11-01"}), true, pk)
	f.Add(enc(map[string]string{"pk": "PARTNER#pt_2#COMPANY#co_9", "sk": "INVOICE#inv_1"}), false, pk)
	f.Add(enc(map[string]string{"pk": pk, "sk": "X", "gsi1pk": pk}), true, pk)
	f.Add(enc(map[string]string{"pk": pk, "sk": "X", "gsi1pk": "other", "gsi1sk": "y"}), false, pk)
	f.Add(enc(map[string]string{"pk": pk, "sk": ""}), false, pk)
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"pk":"`+pk+`","sk":"a","gsi1zz":"b"}`)), false, pk)
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(`{"pk":1}`)), false, pk)
	f.Add("not base64!", false, pk)
	f.Add("", false, "")
	f.Fuzz(func(t *testing.T, cursor string, gsi bool, wantPK string) {
		pkName, keys := "pk", []string{"pk", "sk"}
		if gsi {
			pkName, keys = "gsi1pk", []string{"pk", "sk", "gsi1pk", "gsi1sk"}
		}
		key, err := decodeCursor(cursor, pkName, wantPK)
		if err != nil {
			if key != nil {
				t.Fatal("refused cursor returned a key")
			}
			return
		}
		if len(key) != len(keys) {
			t.Fatalf("accepted %q as %d attributes, want exactly %v", cursor, len(key), keys)
		}
		for _, k := range keys {
			s, ok := key[k].(*types.AttributeValueMemberS)
			if !ok || s.Value == "" {
				t.Fatalf("accepted %q without a non-empty %s", cursor, k)
			}
		}
		if got := key[pkName].(*types.AttributeValueMemberS).Value; got != wantPK {
			t.Fatalf("cursor %q leaves partition %q for %q", cursor, wantPK, got)
		}
		// What we accept, we would also have issued: re-encoding is stable.
		again, err := decodeCursor(encodeCursor(key), pkName, wantPK)
		if err != nil || len(again) != len(key) {
			t.Fatalf("re-encoded cursor refused: %v", err)
		}
	})
}
