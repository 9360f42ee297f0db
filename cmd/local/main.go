// Command local is payrecon's local runner and operator CLI.
//
//	local run [-port 3000]          local stack + every HttpApi route of template.yaml, with a demo partner
//	local demo                      the published worked example end to end, printed, then exit
//	local stack -env FILE           start the emulators, write their endpoints to FILE, wait for Ctrl-C
//	local partners create -name N   create a partner and print its first API key (once)
//	local partners keys|rotate|revoke -partner ID [-key KEYID]
//	local load [-requests N -duration D -concurrency 1,4,16,64]  bounded load on loopback
//	local invoke -fn LogicalId -event FILE  one function's bootstrap under aws-lambda-rie (make invoke)
//	local sign-event FILE           an events/ file for another partner or stage: placeholders from PAYRECON_* env, signatures re-signed now
//
// partners and sign-event act on the table named by TABLE_NAME (and DYNAMODB_ENDPOINT,
// SECRETSMANAGER_ENDPOINT when local), like the functions do.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/payrecon/payrecon/shared/local/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	stop()
	// The emulators live as long as the process (commands share one stack).
	localstack.Running().Stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "local:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("usage: local run|stack|partners|invoke|sign-event (see cmd/local/main.go)")
	}
	switch args[0] {
	case "run":
		return runLocal(ctx, args[1:], out, getenv)
	case "demo":
		return runDemo(ctx, out, getenv)
	case "stack":
		return runStack(ctx, args[1:], out, getenv)
	case "partners":
		return runPartners(ctx, args[1:], out, getenv)
	case "load":
		return runLoad(ctx, args[1:], out, getenv)
	case "invoke":
		return runInvoke(ctx, args[1:], out, getenv)
	case "sign-event":
		return runSignEvent(args[1:], out, getenv)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
