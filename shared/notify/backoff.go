package notify

import (
	"math/rand/v2"
	"time"
)

// Retries after a failed attempt, about 3 days in all: Svix's schedule
// (https://docs.svix.com/retries: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h,
// about 27.6 h) stretched with 10 h and 12 h steps to Stripe's "up to three
// days" in live mode (https://docs.stripe.com/webhooks). Each delay becomes
// the message's visibility timeout, which SQS caps at 12 hours.
var Schedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 10 * time.Hour, 10 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
}

// MaxAttempts is the first attempt plus one per retry; the queue's redrive
// policy (maxReceiveCount) in template.yaml must equal it.
var MaxAttempts = len(Schedule) + 1

// MaxVisibility is SQS's visibility timeout limit.
const MaxVisibility = 12 * time.Hour

// MaxDelay is the longest retry delay the sender sets. SQS counts the 12 h
// limit from the receive, and "if you attempt to set the VisibilityTimeout to
// an amount more than the maximum time left, Amazon SQS returns an error"
// (ChangeMessageVisibility, API reference): a delay of exactly 12 h, set after
// the attempt took its seconds, would be refused and the message would come
// back after the queue's 180 s default, burning the 12 h steps in minutes.
// 5 minutes is far more than an attempt takes (the sender's Lambda timeout is 29 s).
const MaxDelay = MaxVisibility - 5*time.Minute

// Jitter is the spread around each delay: ±10 %, so endpoints that failed
// together do not all come back in the same second.
const Jitter = 0.10

// Backoff returns the delay after failed attempt n (1-based) with jitter from
// r (a float in [0,1)), and false when no attempt is left.
func Backoff(n int, r func() float64) (time.Duration, bool) {
	if n < 1 || n > len(Schedule) {
		return 0, false
	}
	d := Schedule[n-1]
	f := 1 + Jitter*(2*r()-1)
	j := time.Duration(float64(d) * f)
	if j > MaxDelay {
		j = MaxDelay
	}
	if j < time.Second {
		j = time.Second
	}
	return j.Round(time.Second), true
}

// RandFloat is the production jitter source.
func RandFloat() float64 { return rand.Float64() }
