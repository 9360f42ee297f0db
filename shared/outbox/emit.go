package outbox

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	idgen "github.com/payrecon/payrecon/shared/ids"
)

// IDs makes event IDs (ids.Generator: ID("evt"), time-sortable).
type IDs interface{ ID(prefix string) string }

// ErrNoIDs is returned by Emit when the emitting store was wired without an ID
// generator: failing the change is better than committing it unreported.
var ErrNoIDs = errors.New("outbox: no event ID generator wired")

// Emit is New then TxItem: the Put of one event, to append to the change's own
// TransactWriteItems. obj is the object as the API returns it after the change.
func Emit(table string, ids IDs, now time.Time, typ, partnerID, companyID, objectID string, obj any) (types.TransactWriteItem, error) {
	if g, ok := ids.(*idgen.Generator); ids == nil || ok && g == nil {
		return types.TransactWriteItem{}, ErrNoIDs
	}
	e, err := New(ids.ID("evt"), typ, partnerID, companyID, objectID, obj, now)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return e.TxItem(table)
}
