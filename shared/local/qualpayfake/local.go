package qualpayfake

import (
	"encoding/json"
	"net/http"
)

// SinkFunc adapts a logging function to ErrorSink, for running the fake
// outside tests (the local runner reports violations in its log).
type SinkFunc func(format string, args ...any)

// Errorf implements ErrorSink.
func (f SinkFunc) Errorf(format string, args ...any) { f(format, args...) }

// EmbeddedFieldsStandIn is a local-only stand-in for Qualpay Embedded Fields,
// which in production turns a card typed into Qualpay's iframe into a card_id
// without the number touching our servers. POST {"card_number","exp_date"}
// (test cards only) answers {"card_id"}. Mount it outside /platform, never in
// a deployed function.
func (f *Fake) EmbeddedFieldsStandIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, qpError(2, "POST a card_number and exp_date"))
			return
		}
		var in struct {
			CardNumber string `json:"card_number"`
			ExpDate    string `json:"exp_date"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, qpError(2, "invalid JSON"))
			return
		}
		id, err := f.Tokenize(in.CardNumber, in.ExpDate)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, qpError(2, err.Error()))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"card_id": id})
	})
}
