# /dev/chat billing — the two commands that matter: `make dev` (run) and `make test` (test).
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# Nothing may reach AWS from this machine.
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_REGION ?= us-east-1
export AWS_EC2_METADATA_DISABLED := true

.PHONY: help bootstrap build up down dev mail logs fmt lint test test-rust test-pages test-e2e test-deploy test-fuzz scan-secrets bench e2e

help: ## This list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## Install what is missing into the project (.venv, node_modules, chromium)
	scripts/bootstrap.sh

# Each function the way `cargo lambda watch` builds it (`cargo run --bin NAME`: features
# resolved for that package alone), so watch reuses the binaries instead of rebuilding.
build: ## Build the emulator, provision, every function and the benchmark's hello-world floor
	cargo build --bin stripe-emulator --bin hello
	for dir in functions/*/; do cargo build --bin "$$(basename "$$dir")" || exit 1; done

up: ## Start the local stack in the background (moto, emulator, cargo lambda watch, stripe listen)
	scripts/up.sh

down: ## Stop exactly what `make up` started
	scripts/down.sh

dev: ## up, follow the logs, down on Ctrl-C
	@scripts/up.sh
	@trap 'scripts/down.sh' EXIT INT TERM; tail -n 0 -F .stack/*.log

mail: ## The mail the local stack has sent (moto's SES): sign-in codes, session requests
	node scripts/mail.mjs $(TO)

logs: ## Follow the stack's logs
	tail -n 50 -F .stack/*.log

fmt: ## Format the Rust code
	cargo fmt --all

lint: ## Formatting check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs. Each part adds its suite as a prerequisite here.
test: lint test-rust test-pages test-e2e test-deploy test-fuzz ## All the checks and tests (what CI runs)
	scripts/scan-secrets.sh --self-test && scripts/scan-secrets.sh

test-rust: build ## Unit and integration tests (moto, emulator, cargo lambda watch started by the tests)
	set -o pipefail; cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.log

test-pages: build ## The emulator's hosted pages in Chromium (the emulator binary alone, on a free port)
	scripts/bootstrap.sh
	node --test stripe-emulator/browser/

test-e2e: ## Browser journeys in Chromium against the stack (starts it unless up; screenshots in e2e/artifacts/)
	e2e/run.sh

test-deploy: ## template.yaml checks (cfn-lint, sam validate, routes/policies/cycles) and the arm64 cross build of every function (full release build: scripts/deploy-check.sh build)
	scripts/deploy-check.sh lint
	scripts/deploy-check.sh quick

test-fuzz: ## Fuzz the webhook path for FUZZ_SECONDS (default 60) with cargo-fuzz; fails on a panic
	scripts/fuzz.sh $(FUZZ_SECONDS)

scan-secrets: ## Scan the logs of the last run for Stripe keys and webhook secrets
	scripts/scan-secrets.sh --self-test
	scripts/scan-secrets.sh

bench: ## Benchmarks → bench/RESULTS.md (release builds, a few minutes; not part of `make test`)
	scripts/bench.sh $(BENCH_ARGS)

e2e: test-e2e ## Alias
