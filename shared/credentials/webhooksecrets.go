package credentials

import (
	"context"
	"strings"
	"time"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/httpapi"
)

// Webhook endpoint kinds. Stripe gives every webhook endpoint its own signing
// secret (https://docs.stripe.com/webhooks/signature), and a partner registers
// two: a Connect endpoint (events of connected accounts) and a platform one.
// Qualpay gives every webhook its own secret, shown once ("Webhooks in Qualpay
// Manager", https://developer.qualpay.com/docs/webhooks-in-qualpay-manager).
const (
	KindConnect  = "connect"
	KindPlatform = "platform"
	KindQualpay  = "webhook"
)

// MaxWebhookSecrets caps the secrets of one endpoint kind: a rotation overlap
// needs two; a partner with several Qualpay webhooks needs one each.
const MaxWebhookSecrets = 10

// legacySecretID names the single webhook_secret of credentials stored before
// secret sets existed.
const legacySecretID = "whs_initial"

// WebhookSecret is one signing secret of one of the partner's webhook endpoints.
type WebhookSecret struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
}

// MaskedSecret is what the API shows of a webhook secret.
type MaskedSecret struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Last4     string    `json:"last4,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Mask hides the secret. The last 4 characters are shown only when the secret
// is long enough that they give nothing useful away.
func (w WebhookSecret) Mask() MaskedSecret {
	m := MaskedSecret{ID: w.ID, Kind: w.Kind, CreatedAt: w.CreatedAt}
	if len(w.Secret) >= 16 {
		m.Last4 = w.Secret[len(w.Secret)-4:]
	}
	return m
}

// SecretsOf returns the secret values of one kind, newest first.
func SecretsOf(set []WebhookSecret, kind string) []string {
	var out []string
	for _, w := range set {
		if w.Kind == kind {
			out = append(out, w.Secret)
		}
	}
	return out
}

// withWebhookURLs names the URLs the partner registers for each endpoint kind.
func (s *Service) withWebhookURLs(st Status, partnerID string) Status {
	if s.PublicBaseURL == "" {
		return st
	}
	base := strings.TrimRight(s.PublicBaseURL, "/")
	switch st.Provider {
	case Stripe:
		st.WebhookURLs = map[string]string{KindConnect: base + "/stripe/" + partnerID + "/connect", KindPlatform: base + "/stripe/" + partnerID}
	case Qualpay:
		st.WebhookURLs = map[string]string{KindQualpay: base + "/qualpay/" + partnerID}
	}
	return st
}

func validStripeSecret(s string) bool { return len(s) <= maxSecretLen && whsecRe().MatchString(s) }

func rememberWebhookSecrets(set []WebhookSecret) {
	for _, w := range set {
		httpapi.RememberSecrets(w.Secret)
	}
}

// addFirst puts secret first among its kind (moving it there if present).
func (s *Service) addFirst(set []WebhookSecret, kind, secret string) []WebhookSecret {
	out := []WebhookSecret{{ID: s.IDs.ID("whs"), Kind: kind, Secret: secret, CreatedAt: s.Now().UTC().Truncate(time.Second)}}
	for _, w := range set {
		if w.Secret == secret && w.Kind == kind {
			out[0].ID, out[0].CreatedAt = w.ID, w.CreatedAt
			continue
		}
		out = append(out, w)
	}
	return out
}

func validKind(provider, kind string) bool {
	if provider == Qualpay {
		return kind == KindQualpay
	}
	return kind == KindConnect || kind == KindPlatform
}

// ListWebhookSecrets returns a partner's webhook secrets, masked.
func (s *Service) ListWebhookSecrets(ctx context.Context, partnerID, provider string) ([]MaskedSecret, error) {
	set, err := s.webhookSecrets(ctx, partnerID, provider)
	if err != nil {
		return nil, err
	}
	out := make([]MaskedSecret, 0, len(set))
	for _, w := range set {
		out = append(out, w.Mask())
	}
	return out, nil
}

// AddWebhookSecret adds a secret to an endpoint kind (default: Stripe's
// Connect endpoint; Qualpay has one kind). Adding a secret that is already
// there answers the existing entry.
func (s *Service) AddWebhookSecret(ctx context.Context, partnerID, provider, kind, secret string) (MaskedSecret, error) {
	if kind == "" {
		kind = KindConnect
		if provider == Qualpay {
			kind = KindQualpay
		}
	}
	bad := map[string]string{}
	if !validKind(provider, kind) {
		bad["kind"] = `must be "connect" or "platform" for stripe, "webhook" (or empty) for qualpay`
	}
	if provider == Stripe && !validStripeSecret(secret) {
		bad["secret"] = "must be a Stripe webhook signing secret (whsec_…)"
	}
	if provider == Qualpay && !opaqueSecret(secret) {
		bad["secret"] = "must be a Qualpay webhook secret, as Qualpay Manager shows it"
	}
	if len(bad) > 0 {
		return MaskedSecret{}, apperr.FieldErrors(bad)
	}
	var added WebhookSecret
	err := s.editWebhookSecrets(ctx, partnerID, provider, func(set []WebhookSecret) ([]WebhookSecret, error) {
		if len(SecretsOf(set, kind)) >= MaxWebhookSecrets {
			return nil, apperr.New(apperr.Conflict, "an endpoint kind holds at most %d secrets; remove one first", MaxWebhookSecrets)
		}
		set = s.addFirst(set, kind, secret)
		added = set[0]
		return set, nil
	})
	return added.Mask(), err
}

// RemoveWebhookSecret removes one secret by ID; 404 when there is none.
func (s *Service) RemoveWebhookSecret(ctx context.Context, partnerID, provider, id string) error {
	return s.editWebhookSecrets(ctx, partnerID, provider, func(set []WebhookSecret) ([]WebhookSecret, error) {
		for i, w := range set {
			if w.ID == id {
				return append(set[:i:i], set[i+1:]...), nil
			}
		}
		return nil, apperr.New(apperr.NotFound, "no webhook secret %q", id)
	})
}

func (s *Service) webhookSecrets(ctx context.Context, partnerID, provider string) ([]WebhookSecret, error) {
	if provider == Stripe {
		c, err := s.StripeKeys(ctx, partnerID)
		return c.WebhookSecrets, err
	}
	c, err := s.QualpayKeys(ctx, partnerID)
	return c.WebhookSecrets, err
}

// keptSecrets is the secret set a PUT stores: the partner's current set (a PUT
// replaces keys, not the secrets added through the API), with the PUT's
// webhook_secret, if any, first among its kind.
func (s *Service) keptSecrets(ctx context.Context, partnerID, provider, kind, first string) ([]WebhookSecret, error) {
	set, err := s.webhookSecrets(ctx, partnerID, provider)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return nil, err
	}
	if first != "" {
		set = s.addFirst(set, kind, first)
	}
	return set, nil
}

// editWebhookSecrets rewrites the credentials secret with an edited set. It is
// a read-modify-write of one Secrets Manager secret: two edits racing within
// milliseconds can lose one (Secrets Manager has no conditional put); the
// answer of the losing request still lists what it did, and a list shows it.
func (s *Service) editWebhookSecrets(ctx context.Context, partnerID, provider string, edit func([]WebhookSecret) ([]WebhookSecret, error)) error {
	st, err := s.Get(ctx, partnerID, provider)
	if err != nil {
		return err
	}
	if provider == Stripe {
		return editSet(ctx, s, partnerID, st, s.StripeKeys, func(c *StripeCredentials) *[]WebhookSecret { return &c.WebhookSecrets }, edit)
	}
	return editSet(ctx, s, partnerID, st, s.QualpayKeys, func(c *QualpayCredentials) *[]WebhookSecret { return &c.WebhookSecrets }, edit)
}

func editSet[C any](ctx context.Context, s *Service, partnerID string, st Status, load func(context.Context, string) (C, error),
	set func(*C) *[]WebhookSecret, edit func([]WebhookSecret) ([]WebhookSecret, error)) error {
	c, err := load(ctx, partnerID)
	if err != nil {
		return err
	}
	p := set(&c)
	if *p, err = edit(*p); err != nil {
		return err
	}
	_, err = s.save(ctx, partnerID, st, c)
	return err
}
