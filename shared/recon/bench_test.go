package recon_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon/shared/local/reconsim"
	"github.com/payrecon/payrecon/shared/recon"
)

// BenchmarkMatch runs the matcher (RunTable, on the compact Table input) on 10k,
// 100k and 1M bank lines with proportional payouts (one deposit in five batched,
// about one in twenty ambiguous or unmatched). In the same benchmark it runs a
// plain sort of the same records (the table's lines and payouts by currency,
// amount, date, ID: sort-cpu-s/op, and the ratio match/sort of CPU times), scores the accuracy on
// the generated truth, and measures the real resident set of a separate process:
// this test binary re-run as TestMatchRSSChild, which generates the scenario,
// builds the table, frees the generator's memory, resets its peak RSS
// (/proc/self/clear_refs) and runs the matcher once. rss-table-MiB is that
// process's RSS holding the table before the run, rss-peak-MiB its VmHWM after
// it, child-cpu-s the run's CPU time. Everything runs on one core (GOMAXPROCS=1):
//
//	go test ./shared/recon -run '^$' -bench Match -benchtime 1x
//
// The 1M case is skipped with -short.
func BenchmarkMatch(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // one core, whatever -cpu says
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) {
			if n >= 1_000_000 && testing.Short() {
				b.Skip("1M lines: not with -short")
			}
			s := generate(b, reconsim.Bench(n, 7))
			t, cfg, lines, pays := table(b, s), s.Config(), len(s.Lines), len(s.Payouts)
			// Only the table stays: the scenario's pointer-rich structs would make
			// every collection during the run mark them. The (seeded) scenario is
			// generated again for scoring.
			s = nil
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			var res recon.Result
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				var err error
				if res, err = recon.RunTable(t, cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// CPU seconds of the whole process (GC included): on a shared machine
			// the wall clock also counts time spent waiting for a core.
			match := (cpuTime() - cpu0) / time.Duration(b.N)
			b.ReportMetric(match.Seconds(), "cpu-s/op")
			b.ReportMetric(float64(match.Nanoseconds())/float64(lines), "cpu-ns/line")

			// The reference: a plain sort of the same rows, timed the same way
			// (at least 200 ms of it, so the clock's grain does not matter).
			runtime.GC()
			reps, c0 := 0, cpuTime()
			for reps < b.N || cpuTime()-c0 < 200*time.Millisecond {
				recon.SortRows(t)
				reps++
			}
			sort := (cpuTime() - c0) / time.Duration(reps)
			b.ReportMetric(sort.Seconds(), "sort-cpu-s/op")
			b.ReportMetric(float64(match)/float64(sort), "match/sort")

			if rss, err := childRSS(n); err != nil {
				b.Errorf("RSS child: %v", err)
			} else {
				b.ReportMetric(float64(rss.Table)/(1<<20), "rss-table-MiB")
				b.ReportMetric(float64(rss.Peak)/(1<<20), "rss-peak-MiB")
				b.ReportMetric(rss.CPU.Seconds(), "child-cpu-s")
				if rss.Matches != len(res.Matches) {
					b.Errorf("the child made %d matches, this process %d", rss.Matches, len(res.Matches))
				}
			}

			s = generate(b, reconsim.Bench(n, 7))
			sc := reconsim.Evaluate(s, res)
			b.ReportMetric(float64(lines), "lines")
			b.ReportMetric(float64(pays), "payouts")
			b.ReportMetric(sc.Precision*100, "precision-%")
			b.ReportMetric(sc.Recall*100, "recall-%")
			b.ReportMetric(float64(len(sc.Unexplained)), "unexplained")
			if sc.Wrong > 0 {
				b.Errorf("%d wrong matches, e.g. %v", sc.Wrong, sc.WrongMatches[0])
			}
		})
	}
}

// BenchmarkRunInput is the path reconcile takes today: Run on an Input of
// []BankLine and []payouts.Payout, which first copies it into a Table. The
// scenario stays in memory here, so collections also mark its structs.
func BenchmarkRunInput(b *testing.B) {
	s := generate(b, reconsim.Bench(100_000, 7))
	in, cfg := s.Input(), s.Config()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := recon.Run(in, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// table builds the compact input of a scenario, as Run does from its Input.
func table(tb testing.TB, s *reconsim.Scenario) *recon.Table {
	tb.Helper()
	t := recon.NewTable(len(s.Lines), len(s.Payouts))
	for i := range s.Payouts {
		if err := t.AddPayout(&s.Payouts[i]); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range s.Lines {
		if err := t.AddLine(&s.Lines[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return t
}

type rssReport struct {
	Table, Peak int64 // bytes
	CPU, Wall   time.Duration
	Matches     int
}

const rssEnv = "RECON_RSS_LINES"

var rssCache = map[int]rssReport{} // the benchmark function runs more than once per size

// childRSS runs TestMatchRSSChild in a new process of this test binary.
func childRSS(n int) (rssReport, error) {
	if r, ok := rssCache[n]; ok {
		return r, nil
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMatchRSSChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), rssEnv+"="+strconv.Itoa(n), "GOMAXPROCS=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return rssReport{}, fmt.Errorf("%v: %s%s", err, out.Bytes(), errb.Bytes())
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if j, ok := strings.CutPrefix(sc.Text(), "rss-report "); ok {
			var r rssReport
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				return r, err
			}
			rssCache[n] = r
			return r, nil
		}
	}
	return rssReport{}, fmt.Errorf("no report in %q", out.String())
}

// TestMatchRSSChild is the child process of BenchmarkMatch's RSS measurement;
// it does nothing unless RECON_RSS_LINES is set.
func TestMatchRSSChild(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(rssEnv))
	if n <= 0 {
		t.Skip("run by BenchmarkMatch")
	}
	s := generate(t, reconsim.Bench(n, 7))
	tab, cfg := table(t, s), s.Config()
	s = nil // the generator's data (input structs, truth, Plaid pages) goes
	runtime.GC()
	debug.FreeOSMemory()
	var r rssReport
	r.Table = procStatus(t, "VmRSS")
	// "5" resets the peak RSS (VmHWM) to the current RSS (proc(5), since Linux 4.0).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatal(err)
	}
	cpu0, t0 := cpuTime(), time.Now()
	res, err := recon.RunTable(tab, cfg)
	r.Wall, r.CPU = time.Since(t0), cpuTime()-cpu0
	if err != nil {
		t.Fatal(err)
	}
	r.Peak = procStatus(t, "VmHWM")
	r.Matches = len(res.Matches)
	runtime.KeepAlive(tab)
	j, _ := json.Marshal(r)
	fmt.Printf("rss-report %s\n", j)
}

// procStatus reads a "Name:   123 kB" line of /proc/self/status, in bytes.
func procStatus(t *testing.T, name string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", name)
	return 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
