// Package localstack starts the local stack (DynamoDB Local, moto_server for
// Secrets Manager, stripe-mock) on free loopback ports, once per process.
//
// When PAYRECON_TEST_DYNAMODB, PAYRECON_TEST_SECRETS and PAYRECON_TEST_STRIPE are
// set (make test starts one stack for all test packages), those endpoints are used.
package localstack

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Stack is the set of running emulators.
type Stack struct {
	DynamoURL  string
	SecretsURL string
	StripeURL  string
	procs      []*exec.Cmd
}

var (
	once     sync.Once
	shared   *Stack
	startErr error
)

// Running returns the stack if this process started one.
func Running() *Stack { return shared }

// ModuleRoot finds the directory holding go.mod, walking up from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// Start returns the process-wide stack, starting it on first use. getenv
// (os.Getenv from a main or a test) supplies PAYRECON_TEST_* endpoints to reuse.
func Start(getenv func(string) string) (*Stack, error) {
	once.Do(func() { shared, startErr = start(getenv) })
	return shared, startErr
}

func start(getenv func(string) string) (*Stack, error) {
	s := &Stack{
		DynamoURL:  getenv("PAYRECON_TEST_DYNAMODB"),
		SecretsURL: getenv("PAYRECON_TEST_SECRETS"),
		StripeURL:  getenv("PAYRECON_TEST_STRIPE"),
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	tools := filepath.Join(root, ".tools")
	if s.DynamoURL == "" {
		dir := filepath.Join(tools, "dynamodb-local")
		jar := filepath.Join(dir, "DynamoDBLocal.jar")
		if _, err := os.Stat(jar); err != nil {
			return nil, fmt.Errorf("DynamoDB Local not installed at %s: run `make tools`", dir)
		}
		url, err := s.spawn("java", func(port int) []string {
			return []string{"-Xmx512m", "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"), "-jar", jar, "-inMemory", "-port", fmt.Sprint(port)}
		})
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("dynamodb local: %w", err)
		}
		s.DynamoURL = url
	}
	if s.SecretsURL == "" {
		url, err := s.spawn("moto_server", func(port int) []string { return []string{"-H", "127.0.0.1", "-p", fmt.Sprint(port)} })
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("moto_server: %w", err)
		}
		s.SecretsURL = url
	}
	if s.StripeURL == "" {
		bin := filepath.Join(tools, "bin", "stripe-mock")
		if _, err := os.Stat(bin); err != nil {
			bin = "stripe-mock"
		}
		url, err := s.spawn(bin, func(port int) []string { return []string{"-http-port", fmt.Sprint(port)} })
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("stripe-mock: %w", err)
		}
		s.StripeURL = url
	}
	return s, nil
}

// spawn starts a server on a free port and waits until it answers HTTP.
func (s *Stack) spawn(bin string, args func(port int) []string) (string, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := FreePort()
		if err != nil {
			return "", err
		}
		cmd := exec.Command(bin, args(port)...)
		cmd.Stdout, cmd.Stderr = nil, nil
		// The emulator dies with the test binary even if it is killed.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := cmd.Start(); err != nil {
			return "", err
		}
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		if err := waitHTTP(url, 60*time.Second); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			lastErr = err
			continue
		}
		s.procs = append(s.procs, cmd)
		return url, nil
	}
	return "", lastErr
}

// Stop kills every emulator this process started.
func (s *Stack) Stop() {
	if s == nil {
		return
	}
	for _, p := range s.procs {
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		_ = p.Wait()
	}
	s.procs = nil
}

// FreePort asks the kernel for an unused loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(url string, max time.Duration) error {
	deadline := time.Now().Add(max)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if res, err := c.Get(url); err == nil {
			res.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within %s", url, max)
}
