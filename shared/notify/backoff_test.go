package notify_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/notify"
)

func TestBackoffSchedule(t *testing.T) {
	sum := func(r func() float64) time.Duration {
		var total time.Duration
		for n := 1; ; n++ {
			d, ok := notify.Backoff(n, r)
			if !ok {
				if n != notify.MaxAttempts {
					t.Fatalf("gave up after attempt %d, MaxAttempts is %d", n, notify.MaxAttempts)
				}
				return total
			}
			// SQS counts 12 h from the receive: the delay is set after the
			// attempt (up to the sender's 29 s Lambda timeout), so it must leave that room.
			if d+29*time.Second > notify.MaxVisibility || d < time.Second {
				t.Fatalf("attempt %d: delay %s plus the attempt's time is outside SQS's visibility range", n, d)
			}
			total += d
		}
	}
	tests := []struct {
		name     string
		r        func() float64
		min, max time.Duration
	}{
		{"no jitter", func() float64 { return 0.5 }, 72 * time.Hour, 75 * time.Hour},
		{"lowest jitter", func() float64 { return 0 }, 64 * time.Hour, 68 * time.Hour},
		{"highest jitter", func() float64 { return 0.999999 }, 72 * time.Hour, 79 * time.Hour},
		{"random", rand.Float64, 64 * time.Hour, 79 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sum(tc.r); got < tc.min || got > tc.max {
				t.Fatalf("total %s, want %s..%s (about 3 days)", got, tc.min, tc.max)
			}
		})
	}
	t.Run("jitter bounded", func(t *testing.T) {
		for n := 1; n < notify.MaxAttempts; n++ {
			base := notify.Schedule[n-1]
			for _, r := range []float64{0, 0.25, 0.5, 0.75, 0.999999} {
				d, _ := notify.Backoff(n, func() float64 { return r })
				lo := time.Duration(float64(base) * (1 - notify.Jitter))
				hi := min(time.Duration(float64(base)*(1+notify.Jitter)), notify.MaxDelay)
				if d < lo.Round(time.Second)-time.Second || d > hi.Round(time.Second)+time.Second {
					t.Fatalf("attempt %d r=%v: %s outside [%s, %s]", n, r, d, lo, hi)
				}
			}
		}
	})
	t.Run("first retry is quick, later ones spread", func(t *testing.T) {
		first, _ := notify.Backoff(1, func() float64 { return 0.5 })
		if first != 5*time.Second {
			t.Fatalf("first retry after %s", first)
		}
	})
}
