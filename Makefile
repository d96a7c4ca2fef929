# One Makefile for local work, CI and `sam build` (BuildMethod: makefile).
SHELL := /bin/bash
GO ?= go
GOBUILD = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags="-s -w"

.PHONY: run test tools vet unit sam-validate sam-build clean

## --- local tooling (infra/local) -------------------------------------------
tools:
	infra/local/install.sh

# Built first, then started directly, so that Ctrl-C reaches the runner itself.
run: tools
	$(GO) build -o bin/kyc-local ./infra/local/run
	infra/local/with-emulators.sh bin/kyc-local

test: tools
	$(GO) vet ./...
	infra/local/with-emulators.sh $(GO) test -race -count=1 ./...
	$(MAKE) sam-validate sam-build

## --- SAM ---------------------------------------------------------------------
sam-validate:
	.venv/bin/sam validate --lint

sam-build:
	.venv/bin/sam build

## --- sam build targets: one per function, same flags for all ------------------
build-WebhookFunction:
	$(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook

clean:
	rm -rf .aws-sam bin
