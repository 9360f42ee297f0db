package outbox

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.FixedZone("x", 3600))
	tests := []struct {
		name    string
		typ     string
		obj     any
		wantErr error
	}{
		{name: "invoice paid", typ: InvoicePaid, obj: map[string]any{"id": "inv_1", "status": "paid"}},
		{name: "unknown type", typ: "invoice.eaten", obj: map[string]any{}, wantErr: errAny},
		{name: "too large", typ: MatchCreated, obj: map[string]string{"x": strings.Repeat("a", MaxData)}, wantErr: ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New("evt_01", tc.typ, "pt_1", "co_1", "inv_1", tc.obj, now)
			if tc.wantErr != nil {
				if err == nil || (tc.wantErr != errAny && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.PK != "PARTNER#pt_1" || e.SK != "EVT#evt_01" || !strings.HasPrefix(e.GSI1PK, PendingPrefix) || e.GSI1SK != "evt_01" {
				t.Fatalf("keys %+v", e.Keys)
			}
			if e.Created.Location() != time.UTC || e.TTL != e.Created.Add(Retention).Unix() {
				t.Fatalf("created %v ttl %d", e.Created, e.TTL)
			}
			var body struct {
				ID, Type, CompanyID string
				Created             time.Time
				Data                struct{ Object map[string]any }
			}
			raw, err := e.Body()
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
			if body.ID != "evt_01" || body.Type != tc.typ || body.Data.Object["status"] != "paid" || !body.Created.Equal(e.Created) {
				t.Fatalf("body %s", raw)
			}
			if _, err := e.TxItem("tbl"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestBodyRefusesDataThatIsNotJSON: an item whose object is not JSON (changed
// outside New) gives an error, never a panic in the sender or the API.
func TestBodyRefusesDataThatIsNotJSON(t *testing.T) {
	e, err := New("evt_02", InvoicePaid, "pt_1", "co_1", "inv_1", map[string]any{"id": "inv_1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.Data = `{"id":`
	if b, err := e.Body(); !errors.Is(err, ErrBadData) || b != nil {
		t.Fatalf("Body() = %q, %v; want ErrBadData", b, err)
	}
}
