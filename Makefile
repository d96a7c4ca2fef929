# One Makefile for local work, CI and `sam build` (BuildMethod: makefile).
SHELL := /bin/bash
GO ?= go
export SAM_CLI_TELEMETRY := 0
GOBUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags="-s -w"

.PHONY: run demo test bench tools invoke sam-validate sam-build clean

## --- local tooling (infra/local) -------------------------------------------
tools:
	infra/local/install.sh

# Built first, then started directly, so that Ctrl-C reaches the runner itself. Fixed
# emulator ports so that other tools (sam local invoke, the AWS CLI) can reach them.
KYC_DYNAMODB_PORT ?= 8000
KYC_MOTO_PORT ?= 5000
run: tools
	$(GO) build -o bin/kyc-local ./infra/local/run
	KYC_DYNAMODB_PORT=$(KYC_DYNAMODB_PORT) KYC_MOTO_PORT=$(KYC_MOTO_PORT) infra/local/with-emulators.sh bin/kyc-local

# `sam local invoke` without Docker: builds FUNCTION as `sam build` does (build-<LogicalId>,
# for this machine's architecture), runs it under the Runtime Interface Emulator with its
# environment for make run's stack (infra/local/sam-env.json, the ports above) and prints
# the response to EVENT. Start `make run` first, e.g.
#   make invoke FUNCTION=WebhookFunction EVENT=events/idwise-finished-journey.json
invoke: tools
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<LogicalId> EVENT=<file>"; exit 2; }
	@KYC_DYNAMODB_PORT=$(KYC_DYNAMODB_PORT) KYC_MOTO_PORT=$(KYC_MOTO_PORT) $(GO) run ./infra/local/lambdart/invoke -function $(FUNCTION) -event $(EVENT)

# The operator tool (README "Operations"): runs on the operator's machine, native build.
.PHONY: kycctl
kycctl:
	$(GO) build -o bin/kycctl ./infra/kycctl

# gofmt, go vet, staticcheck and the complexity ceiling (infra/local/lint/complexity.sh); the
# linters are pinned as tools in go.mod (`go tool staticcheck`, `go tool gocyclo`).
.PHONY: lint
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	infra/local/lint/complexity.sh

test: tools lint
	rm -f $(IAM_RECORD) && mkdir -p $(dir $(IAM_RECORD))
	KYC_IAM_RECORD=$(abspath $(IAM_RECORD)) infra/local/with-emulators.sh $(GO) test -race -count=1 ./...
	$(MAKE) iamcheck
	$(MAKE) checkov
	$(MAKE) schemathesis
	$(MAKE) sam-validate sam-build

# Least privilege, proven (infra/local/iamcheck): every AWS call the functions made in the
# runs that recorded IAM_RECORD (make test's end-to-end tests of the local runner; make demo
# records DEMO_IAM_RECORD), evaluated against each function's policies in the translated
# template by a real IAM evaluator. A deny fails; grants never exercised are listed.
IAM_RECORD ?= infra/local/.run/iam/test.jsonl
DEMO_IAM_RECORD ?= infra/local/.run/iam/demo.jsonl
.PHONY: iamcheck iamcheck-record checkov
iamcheck: tools
	node --test infra/local/iamcheck/check.test.mjs
	$(MAKE) iamcheck-record
iamcheck-record:
	.venv/bin/python infra/local/iamcheck/policies.py template.yaml $(IAM_RECORD) > $(IAM_RECORD).policies.json
	node infra/local/iamcheck/check.mjs $(IAM_RECORD).policies.json $(IAM_RECORD)

# Security scan of template.yaml, offline; every skip has its reason (infra/local/checkov.yaml).
checkov: tools
	.cache/checkov-venv/bin/checkov --config-file infra/local/checkov.yaml -f template.yaml

# openapi.yaml against the local product (infra/local/schemathesis.sh); zero failures.
.PHONY: schemathesis
schemathesis: tools
	infra/local/schemathesis.sh

# Benchmarks: every figure of BENCHMARKS.md is in a block a run rewrites (never timed
# assertions in tests). Run on a quiet machine; takes about 10 minutes.
BENCH_OUT := .cache/bench
bench: tools
	$(GO) build -o bin/kyc-local ./infra/local/run
	infra/local/with-emulators.sh $(GO) run ./infra/local/bench -write BENCHMARKS.md
	$(MAKE) bench-binaries BENCH_WRITE=BENCHMARKS.md
	mkdir -p $(BENCH_OUT)
	set -o pipefail; { $(GO) test -run '^$$' -bench . -benchmem -count 6 ./shared/edge/webhook/ ./shared/vendors/idwise/idwiseauth/ ./shared/vendors/veriff/ && \
	  infra/local/with-emulators.sh $(GO) test -run '^$$' -bench . -benchmem -count 6 ./shared/compose/; } | tee $(BENCH_OUT)/micro.txt
	$(GO) run ./infra/local/bench -gotest $(BENCH_OUT)/micro.txt -block micro -write BENCHMARKS.md

# Function binaries: arm64 size, cold start (init and first invocation as the Runtime
# Interface Emulator reports them, first response through it), peak RSS after 100
# concurrent invocations (infra/local/lambdart BenchmarkBootstrap). BENCH_WRITE=<file>
# writes the table into that file's binaries block.
.PHONY: bench-binaries
bench-binaries: tools
	mkdir -p $(BENCH_OUT)
	set -o pipefail; infra/local/with-emulators.sh $(GO) test -run '^$$' -bench BenchmarkBootstrap -benchtime 20x -count 1 ./infra/local/lambdart/ | tee $(BENCH_OUT)/binaries.txt
	$(if $(BENCH_WRITE),$(GO) run ./infra/local/bench -gotest $(BENCH_OUT)/binaries.txt -block binaries -write $(BENCH_WRITE))

# Scripted users end to end against `make run` (started here when it is not up).
demo: tools
	rm -f $(DEMO_IAM_RECORD) && mkdir -p $(dir $(DEMO_IAM_RECORD))
	KYC_IAM_RECORD=$(abspath $(DEMO_IAM_RECORD)) $(GO) run ./infra/local/demo
	@if [ -s $(DEMO_IAM_RECORD) ]; then $(MAKE) iamcheck-record IAM_RECORD=$(DEMO_IAM_RECORD); \
	  else echo "iamcheck: make run was already up (not started by the demo): its AWS calls were not recorded"; fi

## --- SAM ---------------------------------------------------------------------
sam-validate:
	.venv/bin/sam validate --lint --region us-east-1

sam-build:
	.venv/bin/sam build

## --- sam build targets: one per function, same flags for all ------------------
build-WebhookFunction:
	$(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook
build-ProcessorFunction:
	$(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/processor
build-SweeperFunction:
	$(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/sweeper
build-ApiFunction:
	$(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api
build-PushFunction:
	$(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/push

clean:
	rm -rf .aws-sam bin
