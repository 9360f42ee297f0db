#!/usr/bin/env bash
# make bench: every Go benchmark against one local stack, then Lambda binary sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"
work=$(mktemp -d)
mkdir -p .build
go build -o .build/local ./cmd/local
.build/local stack -env "$work/stack.env" >/dev/null 2>"$work/stack.err" &
stack_pid=$!
trap 'kill $stack_pid 2>/dev/null || true; wait $stack_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do [ -f "$work/stack.env" ] && break; sleep 0.1; done
set -a; . "$work/stack.env"; set +a
echo "load: $(uptime)"
go test -run='^$' -bench="${BENCH:-.}" -skip='^BenchmarkColdStart$' -benchmem -benchtime="${BENCHTIME:-1s}" -timeout 30m ./... | tee .build/bench.txt
echo
echo "Cold start: every function's bootstrap under aws-lambda-rie, INIT REPORT, median of 21 rounds, each start beside a hello-world start (load: $(uptime | sed 's/.*load/load/'))"
go test -run='^$' -bench='^BenchmarkColdStart$' -benchtime=21x -timeout 20m ./shared/local/rie | grep -vE '^[0-9]{2} [A-Z][a-z]{2} [0-9]{4}|^(START|END|REPORT) RequestId' | tee -a .build/bench.txt
echo
echo "Incremental reconcile, 25 lines a day for 4,000 days up to yesterday (100k lines; reads counted):"
PAYRECON_LONG=1 go test -count=1 -timeout 60m -run 'TestIncrementalRun100kHistory' -v ./shared/recon/reconsvc | grep -E 'incremental run|^(ok|FAIL)'
echo
echo "Lambda binaries (linux/arm64, CGO_ENABLED=0, -tags lambda.norpc,nethttpomithttp2, stripped):"
make --no-print-directory build
