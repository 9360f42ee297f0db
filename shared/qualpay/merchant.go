package qualpay

import (
	"context"
	"net/http"
	"strconv"
)

// Merchant is what Qualpay's Integrator API reports about a merchant account
// (spec: Settings). Fields that only exist at account creation (user_login,
// reset_url: a password-reset link) are deliberately not decoded.
type Merchant struct {
	MerchantID       int64             `json:"merchant_id,omitempty"`
	AppID            int64             `json:"app_id,omitempty"`
	DBAName          string            `json:"dba_name,omitempty"`
	PaymentsAccepted []PaymentAccepted `json:"payments_accepted,omitempty"`
	PaymentProfiles  []PaymentProfile  `json:"payment_profiles,omitempty"`
}

// PaymentAccepted is a card type and the currencies (ISO numeric) accepted for it.
type PaymentAccepted struct {
	CardType string   `json:"card_type,omitempty"`
	Currency []string `json:"currency,omitempty"`
}

// PaymentProfile is a merchant's payment profile.
type PaymentProfile struct {
	ProfileID     string `json:"profile_id,omitempty"`
	Label         string `json:"label,omitempty"`
	Currency      string `json:"currency,omitempty"`
	AutoCloseTime int32  `json:"auto_close_time,omitempty"`
}

// MerchantSettings is the "is this merchant reachable with these
// credentials" check used when linking a merchant. It calls
// GET /platform/vendor/settings/{mid} (operation getMerchantSettings) because
// that is the one spec'd call that (a) names the merchant in its path, so it
// fails for a merchant the partner's integrator key cannot act for, (b) is a
// read with no side effects, unlike generating keys or adding records, and
// (c) is tiny: one object with the DBA name, shown back to the user as
// confirmation that the right merchant was linked. Browsing the vault or a
// report would also work but reads customer or money data we do not need.
func (cl *Client) MerchantSettings(ctx context.Context, merchantID int64) (Merchant, error) {
	if err := checkMerchant(merchantID); err != nil {
		return Merchant{}, err
	}
	c := call{method: http.MethodGet, route: "/vendor/settings/{mid}", path: "/vendor/settings/" + strconv.FormatInt(merchantID, 10)}
	var env envelope
	if err := cl.do(ctx, c, &env); err != nil {
		return Merchant{}, err
	}
	var m Merchant
	return m, decodeData("GET /platform"+c.route, &env, &m)
}
