// Package webhookrecv is the local runner's partner endpoint: a loopback
// receiver that verifies every delivery's Standard Webhooks signature with the
// reference library (github.com/standard-webhooks/standard-webhooks/libraries),
// which is what proves a partner can verify ours, and prints what arrives.
package webhookrecv

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Received is one delivery as it arrived.
type Received struct {
	ID, Type, CompanyID, ObjectID string
	Verified                      bool
	Body                          []byte
}

// Receiver is an http.Handler for deliveries.
type Receiver struct {
	mu       sync.Mutex
	out      io.Writer // one line per delivery (nil: silent)
	verifier *standardwebhooks.Webhook
	got      []Received
}

// PrintTo makes the receiver print one line per delivery to w from now on.
func (r *Receiver) PrintTo(w io.Writer) {
	r.mu.Lock()
	r.out = w
	r.mu.Unlock()
}

// SetSecret sets the signing secret shown when the endpoint was created.
func (r *Receiver) SetSecret(secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.verifier = wh
	r.mu.Unlock()
	return nil
}

// ServeHTTP verifies the signature on the raw body before reading it, as a
// partner should, and answers 204 (401 when it does not verify).
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	wh := r.verifier
	r.mu.Unlock()
	rec := Received{ID: req.Header.Get("webhook-id"), Body: body}
	rec.Verified = wh != nil && wh.Verify(body, req.Header) == nil
	var ev struct {
		Type      string `json:"type"`
		CompanyID string `json:"company_id"`
		Data      struct {
			Object struct {
				ID        string `json:"id"`
				AccountID string `json:"account_id"` // connections are named by their account
			} `json:"object"`
		} `json:"data"`
	}
	if rec.Verified {
		_ = json.Unmarshal(body, &ev)
		rec.Type, rec.CompanyID, rec.ObjectID = ev.Type, ev.CompanyID, ev.Data.Object.ID
		if rec.ObjectID == "" {
			rec.ObjectID = ev.Data.Object.AccountID
		}
	}
	r.mu.Lock()
	r.got = append(r.got, rec)
	out := r.out
	r.mu.Unlock()
	if out != nil {
		fmt.Fprintln(out, rec.Line())
	}
	if !rec.Verified {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Line describes the delivery in one line.
func (rec Received) Line() string {
	if !rec.Verified {
		return fmt.Sprintf("  webhook %s: SIGNATURE DOES NOT VERIFY (answered 401)", rec.ID)
	}
	return fmt.Sprintf("  webhook %-24s %s  object %s  company %s  (signature verified, %d bytes)", rec.Type, rec.ID, rec.ObjectID, rec.CompanyID, len(rec.Body))
}

// Received lists the deliveries so far.
func (r *Receiver) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.got...)
}
