package connect

import (
	"context"
	"fmt"
	"net/http"

	"github.com/payrecon/payrecon/shared/apperr"
	"github.com/payrecon/payrecon/shared/credentials"
	"github.com/payrecon/payrecon/shared/qualpay"
)

// QualpayMerchants checks merchants with the shared Qualpay client
// (MerchantSettings: GET /platform/vendor/settings/{mid}).
type QualpayMerchants struct {
	HTTP *http.Client // must have a Timeout (the Qualpay client insists)
	// BaseURL overrides the host chosen by the credentials' environment (fakes, local runs).
	BaseURL string
	// MaxAttempts bounds retries of a failing check (0: the client's default).
	MaxAttempts int
}

// CheckMerchant implements MerchantChecker. Qualpay refusing the merchant (not
// found, not accessible with these credentials, invalid) is a 422 naming
// merchant_id; Qualpay being down or rate limiting passes through as 502/429.
func (q QualpayMerchants) CheckMerchant(ctx context.Context, keys credentials.QualpayCredentials, merchantID int64) error {
	cl, err := qualpay.New(qualpay.Config{
		Environment: keys.Environment, BaseURL: q.BaseURL, SecurityKey: keys.SecurityKey,
		HTTPClient: q.HTTP, MaxAttempts: q.MaxAttempts,
	})
	if err != nil {
		return fmt.Errorf("qualpay client: %w", err)
	}
	if _, err := cl.MerchantSettings(ctx, merchantID); err != nil {
		switch apperr.CodeOf(err) {
		case apperr.NotFound, apperr.Unprocessable, apperr.Conflict, apperr.Invalid, apperr.Forbidden:
			e, _ := apperr.As(err)
			return apperr.FieldErrors(map[string]string{"merchant_id": fmt.Sprintf("Qualpay cannot reach merchant %d with the configured credentials (%s)", merchantID, e.Message)})
		}
		return err
	}
	return nil
}
