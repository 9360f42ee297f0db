package rie_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/rie"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// BenchmarkColdStart measures each function's init under aws-lambda-rie: a real
// process start of the bootstrap (built as deployment builds it, for this
// host's architecture), timed by the emulator's INIT REPORT line, beside a
// minimal aws-lambda-go hello-world built the same way. Each iteration is one
// round: every function in turn, each started right beside its own
// hello-world start (hello first in even rounds, the function first in odd
// ones, so neither always runs on the warmer page cache). On a shared machine
// the load changes within seconds; a pair's two starts are milliseconds apart,
// so their ratio sees the same load. Reported per function: the median init
// (ms), its ratio to the median of all hello-world starts, and the median of
// its per-pair ratios (worst-x-hello is the largest of those). Run with
// -benchtime=21x for the median of 21, as make bench does.
//
// No request reaches the stack: init makes no network calls (the AWS clients
// connect lazily), so the endpoints point at a closed port and the one event
// each start needs is one the function refuses without I/O.
func BenchmarkColdStart(b *testing.B) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := rie.Binary(root)
	if err != nil {
		b.Skip(err)
	}
	fns, err := samtemplate.FunctionSettings(filepath.Join(root, "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	type target struct {
		name, bootstrap string
		timeout         time.Duration
		memoryMB        int
	}
	out := b.TempDir()
	ctx := context.Background()
	targets := []target{{name: "hello-world", bootstrap: filepath.Join(out, "hello", "bootstrap"), timeout: 29 * time.Second, memoryMB: 256}}
	if err := rie.Build(ctx, root, "./shared/local/rie/testdata/hello", targets[0].bootstrap, ""); err != nil {
		b.Fatal(err)
	}
	// The second reference: hello-world plus the AWS SDK clients and stripe-go
	// the heaviest functions build first (testdata/sdkfloor); not a function, so not
	// in worst-x-hello.
	floor := target{name: sdkFloor, bootstrap: filepath.Join(out, "sdkfloor", "bootstrap"), timeout: 29 * time.Second, memoryMB: 256}
	if err := rie.Build(ctx, root, "./shared/local/rie/testdata/sdkfloor", floor.bootstrap, ""); err != nil {
		b.Fatal(err)
	}
	targets = append(targets, floor)
	ids := make([]string, 0, len(fns))
	for id := range fns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := fns[id]
		t := target{name: id, bootstrap: filepath.Join(out, f.Dir, "bootstrap"), timeout: time.Duration(f.Timeout) * time.Second, memoryMB: f.MemoryMB}
		if err := rie.Build(ctx, root, "./functions/"+f.Dir, t.bootstrap, ""); err != nil {
			b.Fatal(err)
		}
		targets = append(targets, t)
	}
	dead := "http://127.0.0.1:9" // discard port: nothing listens
	env := map[string]string{
		"STAGE": "bench", "TABLE_NAME": "payrecon-bench", "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"DYNAMODB_ENDPOINT": dead, "SECRETSMANAGER_ENDPOINT": dead, "SQS_ENDPOINT": dead,
		"WORK_QUEUE_URL": dead + "/q/work", "RECONCILE_QUEUE_URL": dead + "/q/reconcile", "PLAID_QUEUE_URL": dead + "/q/plaid",
		"SPLITS_QUEUE_URL": dead + "/q/splits",
		"NOTIFY_QUEUE_URL": dead + "/q/notify.fifo",
	}
	// An API request with no API key (401 before any read) for HTTP functions
	// and reconcile; an empty batch for the worker and the notification sender;
	// a stream record the relay ignores (a REMOVE); hello-world answers anything.
	httpEvent := []byte(`{"version":"2.0","routeKey":"GET /v1/none","rawPath":"/v1/none","headers":{},"requestContext":{"http":{"method":"GET","path":"/v1/none"}},"isBase64Encoded":false}`)
	sqsEvent := []byte(`{"Records":[]}`)
	streamEvent := []byte(`{"Records":[{"eventSource":"aws:dynamodb","eventName":"REMOVE","dynamodb":{}}]}`)
	events := map[string][]byte{"WorkerFunction": sqsEvent, "NotificationsSenderFunction": sqsEvent, "NotificationsRelayFunction": streamEvent}

	start := func(t target) time.Duration {
		p, err := rie.Start(ctx, rie.Options{RIE: bin, Bootstrap: t.bootstrap, Env: env, Timeout: t.timeout, MemoryMB: t.memoryMB})
		if err != nil {
			b.Fatal(err)
		}
		ev, ok := events[t.name]
		if !ok {
			ev = httpEvent
		}
		if _, err := p.Invoke(ctx, ev); err != nil {
			logs := p.Logs()
			p.Stop()
			b.Fatalf("%s: %v\n%s", t.name, err, logs)
		}
		d, err := p.InitDuration()
		p.Stop()
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		return d
	}

	samples := make([][]time.Duration, len(targets)) // [0]: every hello-world start
	ratios := make([][]float64, len(targets))        // function / its adjacent hello-world
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 1; j < len(targets); j++ {
			var h, d time.Duration
			if i%2 == 0 {
				h, d = start(targets[0]), start(targets[j])
			} else {
				d, h = start(targets[j]), start(targets[0])
			}
			samples[0] = append(samples[0], h)
			samples[j] = append(samples[j], d)
			ratios[j] = append(ratios[j], float64(d)/float64(h))
		}
	}
	b.StopTimer()
	median := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)/2]) / float64(time.Millisecond)
	}
	hello := median(samples[0])
	pairedRatio := func(j int) float64 {
		r := slices.Clone(ratios[j])
		slices.Sort(r)
		return r[len(r)/2]
	}
	var report strings.Builder
	fmt.Fprintf(&report, "init under aws-lambda-rie, median of %d cold starts (ms), ratio of the medians to hello-world's (%d starts), median of the ratios to the adjacent hello-world start:\n", b.N, len(samples[0]))
	worst := 0.0
	for j, t := range targets {
		m := median(samples[j])
		if j == 0 {
			fmt.Fprintf(&report, "  %-28s %6.2f ms  1.00x\n", t.name, m)
			continue
		}
		fmt.Fprintf(&report, "  %-28s %6.2f ms  %4.2fx  paired %4.2fx\n", t.name, m, m/hello, pairedRatio(j))
		if t.name == sdkFloor {
			b.ReportMetric(pairedRatio(j), "sdk-floor-x-hello")
			continue
		}
		{
			b.ReportMetric(m, t.name+"-init-ms")
			worst = max(worst, pairedRatio(j))
		}
	}
	b.ReportMetric(hello, "hello-world-init-ms")
	b.ReportMetric(worst, "worst-x-hello")
	if b.N >= 5 { // the measured run, not the framework's first single-iteration probe
		fmt.Print(report.String())
	}
}

// sdkFloor names the second reference's row.
const sdkFloor = "sdk-floor (reference)"
