package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrecon/payrecon/shared/local/demo"
	"github.com/payrecon/payrecon/shared/local/example"
	"github.com/payrecon/payrecon/shared/local/localstack"
)

// scenario makes the i-th request of a load phase.
type scenario struct {
	name string
	make func(base string, d demo.Demo, i int64) (*http.Request, error)
}

// phaseResult is what one phase measured.
type phaseResult struct {
	scenario    string
	concurrency int
	requests    int64
	errors      int64 // transport errors and 5xx
	rejected    int64 // 4xx (should be 0 for valid traffic)
	elapsed     time.Duration
	p50, p99    time.Duration
}

func (r phaseResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// runLoad serves the local stack on loopback and drives bounded load at it:
// each phase stops after -requests requests or -duration, whichever is first.
func runLoad(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	requests := fs.Int64("requests", 2000, "requests per phase (upper bound)")
	duration := fs.Duration("duration", 10*time.Second, "time per phase (upper bound)")
	levels := fs.String("concurrency", "1,4,16,64", "concurrency levels")
	only := fs.String("scenario", "", "run only scenarios whose name contains this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stack, err := localstack.Start(getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if err := loopbackOnly(base); err != nil {
		return err
	}
	l, err := buildLocal(ctx, stack, base, getenv)
	if err != nil {
		return err
	}
	defer closeLocal()
	srv := newServer(l.Handler)
	d := l.Demo
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var conc []int
	for _, s := range strings.Split(*levels, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 || n > 256 {
			return fmt.Errorf("bad concurrency %q (1-256)", s)
		}
		conc = append(conc, n)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	fmt.Fprintf(out, "%-28s %5s %8s %9s %9s %9s %7s %7s\n", "scenario", "conc", "requests", "req/s", "p50", "p99", "errors", "4xx")
	for _, sc := range loadScenarios() {
		if *only != "" && !strings.Contains(sc.name, *only) {
			continue
		}
		for _, c := range conc {
			if ctx.Err() != nil {
				return nil
			}
			r := phase(ctx, client, sc, base, d, c, *requests, *duration)
			fmt.Fprintf(out, "%-28s %5d %8d %9.0f %9s %9s %7d %7d\n", r.scenario, r.concurrency, r.requests, r.rps(),
				r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors, r.rejected)
		}
	}
	return nil
}

// loopbackOnly refuses to aim load anywhere but this machine.
func loopbackOnly(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load targets loopback only, not %s", u.Host)
	}
	return nil
}

func phase(ctx context.Context, client *http.Client, sc scenario, base string, d demo.Demo, conc int, max int64, dur time.Duration) phaseResult {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var next, errs, rejected atomic.Int64
	lat := make([][]time.Duration, conc)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > max {
					return
				}
				req, err := sc.make(base, d, i)
				if err != nil {
					errs.Add(1)
					continue
				}
				t0 := time.Now()
				res, err := client.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				switch {
				case res.StatusCode >= 500:
					errs.Add(1)
				case res.StatusCode >= 400:
					rejected.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := phaseResult{scenario: sc.name, concurrency: conc, requests: int64(len(all)), errors: errs.Load(), rejected: rejected.Load(), elapsed: time.Since(start)}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

func authed(method, u, key string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	return req, nil
}

// loadScenarios are the traffic shapes measured in the README's Reliability section.
func loadScenarios() []scenario {
	run := time.Now().UnixNano() // event IDs unique per run, so phases never collide
	return []scenario{
		{"api read: GET integration", func(base string, d demo.Demo, _ int64) (*http.Request, error) {
			return authed("GET", base+"/v1/integrations/stripe", d.APIKey, nil)
		}},
		{"api read: list invoices", func(base string, d demo.Demo, _ int64) (*http.Request, error) {
			return authed("GET", base+"/v1/companies/"+d.CompanyID+"/invoices?limit=20", d.APIKey, nil)
		}},
		{"webhook: new payment event", func(base string, d demo.Demo, i int64) (*http.Request, error) {
			return signedEvent(base, fmt.Sprintf("evt_load_%d_%d", run, i), fmt.Sprintf("pi_load_%d_%d", run, i))
		}},
		{"webhook: duplicate delivery", func(base string, d demo.Demo, _ int64) (*http.Request, error) {
			return signedEvent(base, fmt.Sprintf("evt_load_dup_%d", run), fmt.Sprintf("pi_load_dup_%d", run))
		}},
	}
}

// signedEvent is a payment_intent.succeeded for the demo account, signed now.
func signedEvent(base, id, pi string) (*http.Request, error) {
	body := example.Event(id, "payment_intent.succeeded", demo.StripeAccountID, time.Now().Unix(), map[string]any{
		"id": pi, "object": "payment_intent", "amount": 2500, "amount_received": 2500, "currency": "usd",
		"status": "succeeded", "payment_method_types": []string{"card"}, "created": time.Now().Unix()})
	req, err := http.NewRequest("POST", base+"/stripe", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Stripe-Signature", demo.SignStripe(body, demo.StripeWebhookSecret, time.Now()))
	return req, nil
}
