package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/payrecon/payrecon/shared/local/localstack"
	"github.com/payrecon/payrecon/shared/local/rie"
	"github.com/payrecon/payrecon/shared/samtemplate"
)

// runInvoke is `make invoke FN=<LogicalId> EVENT=events/<file>.json`: build the
// function's bootstrap as deployment does (for the host's architecture), run it
// under aws-lambda-rie against the running `make run` stack (or one it starts),
// with env.json overlaid by that stack's endpoints, print the response and stop.
func runInvoke(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fn := fs.String("fn", "", "function logical ID in template.yaml (e.g. StripeWebhookFunction)")
	event := fs.String("event", "", "event file (e.g. events/stripe-webhook-payout-paid.json)")
	envPath := fs.String("env-vars", "env.json", "environment in `sam local invoke --env-vars` format")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fn == "" || *event == "" {
		return fmt.Errorf("usage: invoke -fn <LogicalId> -event events/<file>.json")
	}
	root, err := localstack.ModuleRoot()
	if err != nil {
		return err
	}
	fns, err := samtemplate.FunctionSettings(filepath.Join(root, "template.yaml"))
	if err != nil {
		return err
	}
	f, ok := fns[*fn]
	if !ok {
		return fmt.Errorf("no function %q in template.yaml", *fn)
	}
	payload, err := os.ReadFile(*event)
	if err != nil {
		return err
	}
	env, err := readEnvVars(*envPath, f.LogicalID)
	if err != nil {
		return err
	}
	running, err := readEnvVars(filepath.Join(root, runningEnvFile), f.LogicalID)
	if err == nil && reachable(running["DYNAMODB_ENDPOINT"]) {
		fmt.Fprintf(os.Stderr, "invoke: using the running local stack (%s)\n", runningEnvFile)
	} else {
		fmt.Fprintln(os.Stderr, "invoke: no running `make run`; starting a local stack for this invoke")
		stack, err := localstack.Start(getenv)
		if err != nil {
			return err
		}
		l, err := buildLocal(ctx, stack, env["PUBLIC_BASE_URL"], getenv)
		if err != nil {
			return err
		}
		defer closeLocal()
		running = l.FunctionEnv
	}
	for k, v := range running {
		env[k] = v
	}
	bootstrap := filepath.Join(root, ".build", "invoke", f.Dir, "bootstrap")
	if err := rie.Build(ctx, root, "./functions/"+f.Dir, bootstrap, ""); err != nil {
		return err
	}
	bin, err := rie.Binary(root)
	if err != nil {
		return err
	}
	p, err := rie.Start(ctx, rie.Options{RIE: bin, Bootstrap: bootstrap, Env: env,
		Timeout: time.Duration(f.Timeout) * time.Second, MemoryMB: f.MemoryMB, Output: os.Stderr})
	if err != nil {
		return err
	}
	defer p.Stop()
	res, err := p.Invoke(ctx, payload)
	if err != nil {
		return err
	}
	if d, err := p.InitDuration(); err == nil {
		fmt.Fprintf(os.Stderr, "invoke: %s init %.2f ms (emulator INIT REPORT)\n", f.LogicalID, float64(d)/float64(time.Millisecond))
	}
	if env["WORK_QUEUE_URL"] != "" {
		if n, err := queuedJobs(ctx, env); err == nil {
			fmt.Fprintf(os.Stderr, "invoke: %d job(s) waiting on the work queue %s\n", n, env["WORK_QUEUE_URL"])
		}
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, res, "", "  ") == nil {
		res = pretty.Bytes()
	}
	_, err = fmt.Fprintf(out, "%s\n", res)
	return err
}

// readEnvVars reads a `sam local invoke --env-vars` file: "Parameters" applies
// to every function, a section named by the logical ID to that function.
func readEnvVars(path, logicalID string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]map[string]string
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	env := map[string]string{}
	for _, section := range []string{"Parameters", logicalID} {
		for k, v := range doc[section] {
			env[k] = v
		}
	}
	return env, nil
}

// reachable reports whether an endpoint URL accepts connections.
func reachable(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
