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
	@infra/local/ports.sh PORT=$${PORT:-3000} IDWISE_SIM_PORT=$${IDWISE_SIM_PORT:-3001} VERIFF_SIM_PORT=$${VERIFF_SIM_PORT:-3002} \
	  KYC_DYNAMODB_PORT=$(KYC_DYNAMODB_PORT) KYC_MOTO_PORT=$(KYC_MOTO_PORT)
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

# Every check; each step runs even when one before failed, and the last line is the count
# of tests (every Go test and subtest, plus lint, iamcheck, checkov, schemathesis, sam
# validate and sam build as one each): "N passed, N failed" (infra/local/testsummary); exit 1 on any failure.
TEST_RESULTS := .cache/test-results
test: tools
	@mkdir -p .cache; : > $(TEST_RESULTS); \
	  step() { name=$$1; shift; if "$$@"; then echo "pass $$name" >> $(TEST_RESULTS); else echo "fail $$name" >> $(TEST_RESULTS); fi; }; \
	  step lint $(MAKE) --no-print-directory lint; \
	  rm -f $(IAM_RECORD) && mkdir -p $(dir $(IAM_RECORD)); \
	  set -o pipefail; KYC_IAM_RECORD=$(abspath $(IAM_RECORD)) infra/local/with-emulators.sh $(GO) test -json -race -count=1 ./... 2>&1 | $(GO) run ./infra/local/testsummary -results $(TEST_RESULTS) || \
	    grep -q '^fail' $(TEST_RESULTS) || echo "fail go test (build or package failure)" >> $(TEST_RESULTS); \
	  step iamcheck $(MAKE) --no-print-directory iamcheck; \
	  step checkov $(MAKE) --no-print-directory checkov; \
	  step schemathesis $(MAKE) --no-print-directory schemathesis; \
	  step "sam validate" $(MAKE) --no-print-directory sam-validate; \
	  step "sam build" $(MAKE) --no-print-directory sam-build; \
	  grep '^fail' $(TEST_RESULTS) | sed 's/^fail /FAILED: /'; \
	  p=$$(grep -c '^pass' $(TEST_RESULTS)); f=$$(grep -c '^fail' $(TEST_RESULTS)); \
	  echo "$$p passed, $$f failed"; [ "$$f" -eq 0 ]

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
# The project's own SAM CLI (infra/local/install.sh puts it in .venv).
SAM ?= .venv/bin/sam
sam-validate:
	$(SAM) validate --lint --region us-east-1

sam-build:
	$(SAM) build

# Deploy (README "Deploy"): sam build, then sam deploy with samconfig.toml's settings and the
# two parameters without a default, asked once (or JWT_ISSUER= JWT_AUDIENCE=) and saved in
# samconfig.toml; every other parameter keeps its default (or its previous value). More
# parameters: PARAMS='Name=Value ...'. Needs AWS credentials (AWS_PROFILE, AWS_REGION).
.PHONY: deploy smoke doctor
deploy: tools
	@iss='$(JWT_ISSUER)'; aud='$(JWT_AUDIENCE)'; saved=; \
	  if [ -z "$$iss$$aud" ] && grep -q '^parameter_overrides' samconfig.toml 2>/dev/null; then saved=1; fi; \
	  if [ -z "$$saved" ]; then \
	    [ -n "$$iss" ] || read -rp 'JwtIssuer (your identity provider, e.g. https://cognito-idp.<region>.amazonaws.com/<userPoolId>): ' iss; \
	    [ -n "$$aud" ] || read -rp 'JwtAudience (the app client ids, comma-separated): ' aud; \
	    [ -n "$$iss" ] && [ -n "$$aud" ] || { echo "make deploy: JwtIssuer and JwtAudience are needed (JWT_ISSUER=... JWT_AUDIENCE=...)"; exit 2; }; \
	  fi; \
	  $(SAM) build || exit 1; \
	  if [ -n "$$saved" ]; then echo "$(SAM) deploy (parameters saved in samconfig.toml)"; exec $(SAM) deploy $(if $(PARAMS),--parameter-overrides $(PARAMS)); fi; \
	  echo "$(SAM) deploy --parameter-overrides JwtIssuer=$$iss JwtAudience=$$aud $(PARAMS) --save-params"; \
	  $(SAM) deploy --parameter-overrides "JwtIssuer=$$iss" "JwtAudience=$$aud" $(PARAMS) --save-params

# kycctl doctor against a running make run, found through the ports make run takes
# (PORT, IDWISE_SIM_PORT, VERIFF_SIM_PORT, KYC_DYNAMODB_PORT, KYC_MOTO_PORT); JOURNEY=<id>
# adds the journey result check. Against a deployment: run bin/kycctl doctor with the
# stack's outputs (infra/kycctl/README.md).
PORT ?= 3000
IDWISE_SIM_PORT ?= 3001
VERIFF_SIM_PORT ?= 3002
LOCAL_ARN := arn:aws:sns:us-east-1:123456789012
doctor: kycctl
	@AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(KYC_DYNAMODB_PORT) AWS_ENDPOINT_URL=http://127.0.0.1:$(KYC_MOTO_PORT) \
	  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true \
	  TABLE_NAME=kyc-local-Table STATUS_TOPIC_ARN=$(LOCAL_ARN):kyc-local-StatusTopic KYC_STACK_NAME=kyc-local \
	  IDWISE_API_SECRET_ARN=$${IDWISE_API_SECRET_ARN:-kyc-local/idwise-api} IDWISE_API_BASE_URL=$${IDWISE_API_BASE_URL:-http://127.0.0.1:$(IDWISE_SIM_PORT)/} \
	  VERIFF_SECRET_ARN=$${VERIFF_SECRET_ARN:-kyc-local/veriff-webhook} VERIFF_API_KEYS_SECRET_ARN=$${VERIFF_API_KEYS_SECRET_ARN:-kyc-local/veriff-api-keys} VERIFF_API_BASE_URL=$${VERIFF_API_BASE_URL:-http://127.0.0.1:$(VERIFF_SIM_PORT)} \
	  APNS_PLATFORM_APPLICATION_ARN=$(LOCAL_ARN):app/APNS/kyc-local-apns \
	  APNS_SANDBOX_PLATFORM_APPLICATION_ARN=$(LOCAL_ARN):app/APNS_SANDBOX/kyc-local-apns-sandbox \
	  FCM_PLATFORM_APPLICATION_ARN=$(LOCAL_ARN):app/GCM/kyc-local-fcm \
	  ALARM_TOPIC_ARN=$(LOCAL_ARN):kyc-local-AlarmTopic \
	  bin/kycctl doctor -api-url http://127.0.0.1:$(PORT) $(if $(JOURNEY),-journey $(JOURNEY))

# One signed test delivery to a stack's webhook, seen by its processor, then deleted
# (kycctl smoke). URL is the WebhookUrl output; TABLE_NAME and IDWISE_WEBHOOK_SECRET_ARN the
# TableName and IdwiseWebhookSecretArn outputs.
smoke: kycctl
	@test -n "$(URL)" || { echo "usage: make smoke URL=<WebhookUrl> (with TABLE_NAME and IDWISE_WEBHOOK_SECRET_ARN from the stack's outputs)"; exit 2; }
	bin/kycctl smoke -url '$(URL)'

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
