# payrecon - see README.md. `make run` starts everything locally; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(PATH)
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := .build
# lambda.norpc: no net/rpc server (provided.al2023 speaks the Runtime API); nethttpomithttp2: no HTTP/2 in
# net/http (DynamoDB, Secrets Manager, SQS, Stripe, Qualpay and Plaid are all called over HTTP/1.1), 0.35-0.4 MB
# less per bootstrap. -s also drops DWARF. Keep shared/local/rie.BuildFlags and `deploy` in step.
GOFLAGS_LAMBDA := -tags lambda.norpc,nethttpomithttp2 -trimpath -ldflags='-s -w -buildid='
STAGE ?= dev

.PHONY: all tools run demo test test-short lint vet bench events-doc fuzz build invoke deploy clean

all: lint test

tools: ## install DynamoDB Local, stripe-mock, staticcheck into .tools/
	@scripts/tools.sh

run: tools ## local stack + every HttpApi route on :3000 with a demo partner
	$(GO) run ./cmd/local run

demo: tools ## the published worked example end to end (webhooks, payout itemisation, bank feed, reconcile), printed
	$(GO) run ./cmd/local demo

test: tools ## everything: lint, unit + integration tests on the local stack, short fuzz
	@scripts/test.sh

test-short: ## pure unit tests only (no emulators)
	$(GO) test -short ./...

lint: tools ## gofmt, go vet, staticcheck, cfn-lint, go.mod tidy check
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	staticcheck ./...
	cfn-lint template.yaml
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy (run go mod tidy)"; exit 1; }
	@# Dependency hygiene: every module matches go.sum. (govulncheck needs vuln.go.dev, which this
	@# network cannot reach; run `go run golang.org/x/vuln/cmd/govulncheck@latest ./...` where it can.)
	$(GO) mod verify

bench: tools ## benchmarks (recorded in README)
	@scripts/bench.sh

events-doc: tools ## docs/events.md: a real example of every outbox event type, from the emitter tests
	@scripts/events-doc.sh

fuzz: ## longer fuzzing of every target (FUZZTIME per target, default 60s)
	@scripts/fuzz.sh $${FUZZTIME:-60s}

build: ## every function as bootstrap for linux/arm64 (provided.al2023); sizes in bytes and decimal MB (goal <= 9 MB; STRICT=1 fails over it)
	@over=""; for f in $(FUNCTIONS); do \
	  mkdir -p $(BUILD_DIR)/$$f && \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/$$f/bootstrap ./functions/$$f || exit 1; \
	  n=$$(stat -c %s $(BUILD_DIR)/$$f/bootstrap); \
	  awk -v f=$$f -v n=$$n 'BEGIN {printf "%-22s %10d bytes  %5.2f MB%s\n", f, n, n/1e6, (n > 9e6 ? "  OVER the 9 MB goal" : "")}'; \
	  [ $$n -le 9000000 ] || over="$$over $$f"; \
	done; \
	if [ -n "$$over" ]; then echo "OVER 9 MB (10^6 bytes):$$over"; [ -z "$(STRICT)" ] || exit 1; else echo "every bootstrap <= 9 MB"; fi

invoke: tools ## FN=<LogicalId> EVENT=events/<file>.json: the real bootstrap under aws-lambda-rie on the local stack
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=StripeWebhookFunction EVENT=events/stripe-webhook-payout-paid.json"; exit 1; }
	@$(GO) run ./cmd/local invoke -fn $(FN) -event $(EVENT)

deploy: ## sam build + deploy (STAGE=dev|staging|prod → samconfig.toml section)
	CGO_ENABLED=0 GOFLAGS='-tags=lambda.norpc,nethttpomithttp2 -trimpath -ldflags=-s' sam build && sam deploy --config-env $(STAGE)

clean:
	rm -rf $(BUILD_DIR) .aws-sam
