package credentials

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
	"github.com/payrecon/payrecon/shared/store"
)

// Rejection is a provider event that arrived correctly signed for a partner but
// can never be processed (an ID over the key size, a field breaking our
// limits). The webhook handler writes it beside the event's dedupe marker and
// answers the provider 200; the partner lists them to act on them.
type Rejection struct {
	store.Keys `json:"-"`
	PartnerID  string    `dynamodbav:"partner_id" json:"-"`
	Provider   string    `dynamodbav:"provider" json:"provider"`
	EventID    string    `dynamodbav:"event_id" json:"event_id"`
	Type       string    `dynamodbav:"type" json:"type"`
	AccountID  string    `dynamodbav:"account_id,omitempty" json:"account_id,omitempty"`
	CompanyID  string    `dynamodbav:"company_id,omitempty" json:"company_id,omitempty"`
	Reason     string    `dynamodbav:"reason" json:"reason"`
	ReceivedAt time.Time `dynamodbav:"received_at" json:"received_at"`
}

// RejectionSK sorts a partner's rejections by provider, then time.
func RejectionSK(provider string, at time.Time, eventID string) string {
	return "WHREJECT#" + provider + "#" + at.UTC().Format("20060102T150405.000Z") + "#" + eventID
}

// Rejections lists a partner's rejected events of one provider, newest first;
// 404 when the provider is not configured, like every /v1/integrations route.
func (s *Service) Rejections(ctx context.Context, partnerID, provider string, limit int32, cursor string) ([]Rejection, string, error) {
	if _, err := s.Get(ctx, partnerID, provider); err != nil {
		return nil, "", err
	}
	out := []Rejection{}
	next, err := s.Store.QueryPage(ctx, store.Query{PK: store.PartnerPK(partnerID), SKPrefix: "WHREJECT#" + provider + "#", Desc: true, Limit: limit, Cursor: cursor}, &out)
	return out, next, err
}

func (s *Service) handleRejections(w http.ResponseWriter, r *http.Request) error {
	provider, err := NormalizeProvider(r.PathValue("provider"))
	if err != nil {
		return err
	}
	limit := int32(20)
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return apperr.New(apperr.Invalid, "limit must be an integer from 1 to 100")
		}
		limit = int32(n)
	}
	list, next, err := s.Rejections(r.Context(), httpapi.PartnerID(r.Context()), provider, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	return httpapi.WriteJSON(w, http.StatusOK, map[string]any{"data": list, "next_cursor": next})
}
