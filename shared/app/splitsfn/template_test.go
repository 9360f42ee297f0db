package splitsfn_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// TestFundingRetryWindow: a platform money event whose funding fails (Stripe
// down, the tenant's account still onboarding) was retried by Stripe for up to
// three days while the webhook ran it
// (https://docs.stripe.com/webhooks/process-undelivered-events). On the splits
// queue, SQS retries it once per visibility timeout until maxReceiveCount:
// that window must be as long, or the money silently stays on the platform in
// the dead-letter queue after a short outage.
func TestFundingRetryWindow(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	srcs, _, err := samtemplate.SQSSources(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const stripeRetries = 72 * time.Hour
	for _, s := range srcs {
		if s.Function != "SplitsFunction" {
			continue
		}
		t.Run(s.Event, func(t *testing.T) {
			q := s.Queue
			window := time.Duration(q.VisibilityTimeout*q.MaxReceiveCount) * time.Second
			if window < stripeRetries {
				t.Fatalf("%s retries for %s (%d receives x %d s), Stripe's webhook retries lasted %s", q.LogicalID, window, q.MaxReceiveCount, q.VisibilityTimeout, stripeRetries)
			}
		})
		return
	}
	t.Fatal("SplitsFunction consumes no queue")
}
