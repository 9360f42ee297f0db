package store

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// MaxItemBytes is DynamoDB's item size limit (400 KB, attribute names included).
const MaxItemBytes = 400 * 1024

// ItemSize is an upper bound of an item's size as DynamoDB counts it
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
// attribute names plus values; strings and binary by length, numbers by
// digits (DynamoDB stores about half that), 1 byte for booleans and nulls, and
// 3 bytes plus 1 per element of overhead for maps and lists. Tests use it to
// assert the size bound of every item type.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value) + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberM:
		return 3 + len(v.Value) + ItemSize(v.Value)
	case *types.AttributeValueMemberL:
		n := 3 + len(v.Value)
		for _, e := range v.Value {
			n += valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 3
		for _, s := range v.Value {
			n += len(s) + 1
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 3
		for _, s := range v.Value {
			n += len(s) + 2
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 3
		for _, b := range v.Value {
			n += len(b) + 1
		}
		return n
	}
	return 0
}
