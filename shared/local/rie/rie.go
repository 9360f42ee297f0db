// Package rie runs a function's real bootstrap under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie, the emulator inside SAM's images, here
// without Docker): build it as deployment does, start it, post events, read the
// emulator's INIT REPORT. make invoke, the bootstrap tests and the cold-start
// benchmark all use it.
package rie

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildFlags are deployment's (Makefile GOFLAGS_LAMBDA): no RPC, reproducible, stripped.
var BuildFlags = []string{"-tags", "lambda.norpc,nethttpomithttp2", "-trimpath", "-ldflags=-s -w -buildid="}

// Build compiles the main package pkg (e.g. ./functions/worker, relative to root)
// into out for linux and goarch ("" = the host's), CGO_ENABLED=0, as `make build`
// and `sam build` do.
func Build(ctx context.Context, root, pkg, out, goarch string) error {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	args := append([]string{"build"}, BuildFlags...)
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", out, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// Binary is the aws-lambda-rie installed by `make tools` (else the one on PATH).
func Binary(root string) (string, error) {
	p := filepath.Join(root, ".tools", "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", errors.New("aws-lambda-rie is not installed: run `make tools`")
}

// Options describe one emulated function.
type Options struct {
	RIE       string            // the emulator binary
	Bootstrap string            // the function's built bootstrap
	Env       map[string]string // the function's environment (the emulator passes it on)
	Timeout   time.Duration     // the template's Timeout (the emulator's default is 300 s)
	MemoryMB  int               // the template's MemorySize (the emulator's default is 3008)
	Output    io.Writer         // also receives the emulator's and the function's log lines
}

// Process is a running emulator with one function.
type Process struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// Start runs the emulator on a free loopback port and waits until it listens.
// The function's init runs on the first Invoke, as in Lambda.
func Start(ctx context.Context, o Options) (*Process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The Runtime API (where the bootstrap polls for invocations) defaults to
	// 127.0.0.1:9001: a free port instead, so emulators run side by side (two
	// test binaries, or another checkout's run, on one machine).
	runtimeAPI, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.RIE, "--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAPI, o.Bootstrap)
	cmd.Dir = filepath.Dir(o.Bootstrap) // Lambda runs the bootstrap from its task root
	// Only what Lambda would set (the template's LoggingConfig: JSON, INFO): no
	// developer environment leaks into the function.
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TZ=:UTC", "LANG=en_US.UTF-8",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=INFO"}
	if o.Timeout > 0 {
		cmd.Env = append(cmd.Env, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(o.Timeout/time.Second)))
	}
	if o.MemoryMB > 0 {
		cmd.Env = append(cmd.Env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(o.MemoryMB))
	}
	for k, v := range o.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &syncBuffer{}
	var w io.Writer = logs
	if o.Output != nil {
		w = io.MultiWriter(logs, o.Output)
	}
	cmd.Stdout, cmd.Stderr = w, w
	// The emulator (and the function it runs) dies with its parent.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	p := &Process{URL: "http://" + addr, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("aws-lambda-rie exited: %s", logs.String())
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("aws-lambda-rie did not listen on %s: %s", addr, logs.String())
		}
	}
}

// Invoke posts one event and returns the function's response payload.
func (p *Process) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/2015-03-31/functions/function/invocations", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 7<<20)) // Lambda's response cap is 6 MB
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return body, fmt.Errorf("emulator: %s: %s", res.Status, body)
	}
	return body, nil
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration is the function's init time from the emulator's
// `INIT REPORT(durationMs: …)` line (its REPORT line's "Init Duration" is not
// meaningful). It waits briefly for the line after the first Invoke.
func (p *Process) InitDuration() (time.Duration, error) {
	for i := 0; i < 200; i++ {
		if m := initReport.FindStringSubmatch(p.logs.String()); m != nil {
			ms, err := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond)), err
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, errors.New("no INIT REPORT in the emulator's log")
}

// Logs is everything the emulator and the function wrote so far.
func (p *Process) Logs() string { return p.logs.String() }

// FunctionLogs is the function's own log lines (JSON), without the emulator's.
func (p *Process) FunctionLogs() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "{") {
			out = append(out, l)
		}
	}
	return out
}

// Stop ends the emulator and its function.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	// SIGTERM lets the emulator stop the runtime as Lambda does (quietly); its
	// whole process group is killed if it has not exited within two seconds.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr is a loopback address with a port the kernel just had free.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
