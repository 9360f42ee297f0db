package webhooks

import (
	"net/http"
	"strings"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// MaxBody caps webhook deliveries (Stripe events are well under this).
const MaxBody = 1 << 20

// StripeRoutes mounts POST /stripe (shared, Connect events, compatibility),
// POST /stripe/{partner_id}/connect (the partner's Connect endpoint) and
// POST /stripe/{partner_id} (the partner's platform endpoint).
func StripeRoutes(r *httpapi.Router, s *Service) {
	h := func(kind string) httpapi.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) error {
			pid, err := pathPartner(req)
			if err != nil {
				return s.refuse(req.Context(), "stripe", "malformed partner ID in path")
			}
			body, err := httpapi.ReadBody(req)
			if err != nil {
				return err
			}
			res, err := s.HandleStripe(req.Context(), Endpoint{PartnerID: pid, Kind: kind}, body, StripeSignature(req.Header))
			if err != nil {
				return err
			}
			return httpapi.WriteJSON(w, http.StatusOK, res)
		}
	}
	r.Handle(http.MethodPost, "/stripe", h(credentials.KindConnect), httpapi.Public(), httpapi.MaxBody(MaxBody))
	r.Handle(http.MethodPost, "/stripe/{partner_id}/connect", h(credentials.KindConnect), httpapi.Public(), httpapi.MaxBody(MaxBody))
	r.Handle(http.MethodPost, "/stripe/{partner_id}", h(credentials.KindPlatform), httpapi.Public(), httpapi.MaxBody(MaxBody))
}

// QualpayRoutes mounts POST /qualpay and POST /qualpay/{partner_id}.
func QualpayRoutes(r *httpapi.Router, s *Service) {
	h := func(w http.ResponseWriter, req *http.Request) error {
		pid, err := pathPartner(req)
		if err != nil {
			return s.refuse(req.Context(), "qualpay", "malformed partner ID in path")
		}
		body, err := httpapi.ReadBody(req)
		if err != nil {
			return err
		}
		var basic BasicAuth
		basic.User, basic.Pass, basic.OK = req.BasicAuth()
		// The Lambda proxy splits headers on commas; several signatures come back joined.
		sig := strings.Join(req.Header.Values(QualpaySignatureHeader), ",")
		res, err := s.HandleQualpay(req.Context(), pid, body, sig, basic)
		if err != nil {
			return err
		}
		return httpapi.WriteJSON(w, http.StatusOK, res)
	}
	r.Handle(http.MethodPost, "/qualpay", h, httpapi.Public(), httpapi.MaxBody(MaxBody))
	r.Handle(http.MethodPost, "/qualpay/{partner_id}", h, httpapi.Public(), httpapi.MaxBody(MaxBody))
}

func pathPartner(r *http.Request) (string, error) {
	pid := r.PathValue("partner_id")
	if len(pid) > 64 {
		return "", apperr.New(apperr.Invalid, "unknown partner")
	}
	for _, c := range pid {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", apperr.New(apperr.Invalid, "unknown partner")
		}
	}
	return pid, nil
}

// StripeSignature returns the Stripe-Signature header whole. API Gateway's
// payload v2 joins repeated headers with commas and the Lambda adapter splits
// every header on commas again, so "t=…,v1=…,v1=…" arrives as several values.
func StripeSignature(h http.Header) string {
	return strings.Join(h.Values("Stripe-Signature"), ",")
}
