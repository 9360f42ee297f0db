package recon_test

import (
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/local/reconsim"
	"github.com/payrecon/payrecon/shared/recon"
)

// BenchmarkMatch runs the matcher on 10k, 100k and 1M bank lines with
// proportional payouts (one deposit in five batched, about one in twenty
// ambiguous or unmatched). Besides time and allocations it reports the peak
// live heap during the run (input included), the input's heap, ns per line,
// and the accuracy on the generated truth.
//
//	go test ./shared/recon -run '^$' -bench Match -benchtime 1x -cpu 1
//
// The 1M case is skipped with -short.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			if n >= 1_000_000 && testing.Short() {
				b.Skip("1M lines: not with -short")
			}
			s := generate(b, reconsim.Bench(n, 7))
			in, cfg := s.Input(), s.Config()
			runtime.GC()
			base := heapLive()
			b.ReportAllocs()
			b.ResetTimer()
			var res recon.Result
			var peak uint64
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				stop := samplePeak(&peak)
				var err error
				res, err = recon.Run(in, cfg)
				stop()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// CPU seconds of the whole process (GC included): on a shared machine
			// the wall clock also counts time spent waiting for a core.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			sc := reconsim.Evaluate(s, res)
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(base)/(1<<20), "input-heap-MiB")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s.Lines)), "ns/line")
			b.ReportMetric(float64(len(s.Lines)), "lines")
			b.ReportMetric(float64(len(s.Payouts)), "payouts")
			b.ReportMetric(sc.Precision*100, "precision-%")
			b.ReportMetric(sc.Recall*100, "recall-%")
			b.ReportMetric(float64(len(sc.Unexplained)), "unexplained")
			if sc.Wrong > 0 {
				b.Errorf("%d wrong matches, e.g. %v", sc.Wrong, sc.WrongMatches[0])
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// samplePeak records the largest heap seen every 5 ms until stopped.
// runtime/metrics reads do not stop the world, so sampling barely disturbs
// the run (with GOMAXPROCS=1 the sampler runs when the scheduler preempts).
func samplePeak(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if h := heapLive(); h > *peak {
				*peak = h
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		if h := heapLive(); h > *peak {
			*peak = h
		}
	}
}
