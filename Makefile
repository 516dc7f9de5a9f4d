# One entry point for the project's tasks; the README and CI call these.
# Everything installs into the repository (.venv, .local) from the package registries.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/.venv/bin:$(PATH)
# Nothing here calls a host off this machine: no SAM telemetry or version check, no checkov
# update check or platform download, no instance-metadata lookups.
export SAM_CLI_TELEMETRY := 0
export __SAM_CLI_APP_DIR := $(CURDIR)/.local/sam-config
export CKV_SKIP_PACKAGE_UPDATE_CHECK := true
export AWS_EC2_METADATA_DISABLED := true

FUNCTIONS := intake dedup adapt-order accept-order hold-order pos release-order catalog-admin store-status handover sweeper pre-traffic-check
# arm64 unless the aarch64 target could not be installed on this machine.
ARCH ?= $(shell rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu && echo arm64 || echo x86_64)
TEST_RUNNER := $(shell command -v cargo-nextest >/dev/null && echo "cargo nextest run --workspace --no-fail-fast" || echo "cargo test --workspace")

# The chaos run: `make chaos` sends 10,000 orders (release builds); `make chaos ORDERS=300`
# fewer; `SEED=<n>` repeats a run's plan. CI runs CHAOS_CI_ORDERS with a fixed seed.
ORDERS ?= 10000
SEED ?=
CHAOS_CI_ORDERS ?= 300
CHAOS_CI_SEED ?= 20261201

# `make fuzz` runs EXECS executions per fuzz target (1,000,000); `make fuzz-ci` FUZZ_CI_EXECS.
# Neither is in `make test`: installing cargo-afl and building AFL++ from source took about
# 13 of CI's minutes, and put a clean clone's run past its 45. The unit run still feeds every
# fuzz target its seeds and 5,000 seeded mutations.
EXECS ?= 1000000
FUZZ_CI_EXECS ?= 20000

.PHONY: help setup demo up bench chaos chaos-ci peak peak-ci upgrade-drill upgrade-drill-ci fuzz fuzz-ci bins test lint generated docs unit watch invoke-samples infra sam-build build sizes samples schemas workflows diagram clean

help: ## List the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: ## Install the tools the project needs (idempotent)
	@scripts/setup.sh

demo: setup bins ## The main job: the whole pipeline on this machine, on the sample orders (local cloud)
	target/debug/local-cloud demo

up: setup bins ## Start the local cloud and watch orders go through (Ctrl-C stops it)
	target/debug/local-cloud up

bench: setup ## 1,000 mixed orders through the local cloud, release builds: throughput, latency, RSS, cost of both topologies; init times
	cargo build --release --workspace --bins
	target/release/local-cloud bench --release
	target/release/local-cloud init-times --release --runs 9

chaos: setup ## ORDERS orders (default 10,000) under injected faults, reconciled order by order; release builds
	cargo build --release --workspace --bins
	target/release/local-cloud chaos --release --orders $(ORDERS) $(if $(SEED),--seed $(SEED),)

chaos-ci: bins ## The chaos run CI makes: CHAOS_CI_ORDERS orders (300), fixed seed, debug builds
	target/debug/local-cloud chaos --orders $(CHAOS_CI_ORDERS) --seed $(CHAOS_CI_SEED)

peak: setup ## 500 orders/s for 10 minutes through a 10-minute POS outage, quotas and rate divided by 50 (6,000 orders); release builds
	cargo build --release --workspace --bins
	target/release/local-cloud peak --release --quota-scale 50 $(if $(SEED),--seed $(SEED),)

peak-ci: bins ## The peak CI runs: one minute at 500/s divided by 250 (120 orders), the POS down 60 s from 15 s; debug builds
	target/debug/local-cloud peak --quota-scale 250 --minutes 1 --outage-at 0.25 --outage-minutes 1 --seed $(CHAOS_CI_SEED)

upgrade-drill: setup ## The last release (its tag) takes held orders while this build is deployed over it with a canary, then a broken build rolled back
	scripts/upgrade-drill.sh $(if $(SEED),--seed $(SEED),)

upgrade-drill-ci: ## The upgrade drill CI runs: the same, fixed seed (about 2 minutes after building the previous release)
	scripts/upgrade-drill.sh --seed $(CHAOS_CI_SEED)

fuzz: ## Every decoder under AFL++ (cargo-afl, stable): EXECS executions per target (1,000,000), figures and findings
	EXECS=$(EXECS) scripts/fuzz.sh

fuzz-ci: ## A short AFL++ smoke: FUZZ_CI_EXECS executions per target (not in make test: see above)
	EXECS=$(FUZZ_CI_EXECS) FUZZ_PROFILE=debug scripts/fuzz.sh

bins: ## Build every binary (the functions and the local cloud), debug
	cargo build --workspace --bins

test: setup lint generated docs infra unit chaos-ci peak-ci upgrade-drill-ci invoke-samples sam-build ## Everything CI runs

lint: ## rustfmt and clippy, warnings are errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

generated: ## The committed samples, schemas, workflows and diagram are what the code generates; no stateful resource is replaced
	cargo xtask samples --check
	cargo xtask schemas --check
	cargo xtask workflows --check
	cargo xtask diagram --check
	cargo xtask stateful --check

# The link check: remark-validate-links (repository:false: no Git remote needed; it never fetches a
# URL) on GitHub-flavoured Markdown; any warning (a missing file or heading) fails the target.
REMARK := .local/remark/node_modules
docs: setup ## The book (docs/, mdBook) into target/book; every relative link and #anchor in README.md and docs/ checked, offline
	.local/mdbook/bin/mdbook build docs
	$(REMARK)/.bin/remark --quiet --frail --no-stdout --no-config --no-ignore --use ./$(REMARK)/remark-gfm/index.js \
	  --use "./$(REMARK)/remark-validate-links/index.js=repository:false" README.md docs

infra: ## The template and workflow, offline: SAM lint, cfn-lint on the transformed template, asl-validator, checkov
	sam validate --lint -t infra/template.yaml
	python scripts/sam_transform.py
	cfn-lint target/template.cfn.json
	.local/node/node_modules/.bin/asl-validator --json-path statemachines/order-workflow.asl.json
	.local/node/node_modules/.bin/asl-validator --json-path statemachines/order-hold-workflow.asl.json
	checkov --quiet --compact --skip-download --framework cloudformation -f infra/template.yaml
	checkov --quiet --compact --skip-download --framework cloudformation -f target/template.cfn.json

sam-build: ## sam build, offline, for $(ARCH) (cargo-lambda and zig from PyPI; shares ./target)
	cd infra && sam build --parameter-overrides Architecture=$(ARCH)

unit: bins ## Unit, property, handler, flow, contract, DynamoDB Local and end-to-end (local cloud) tests, and the doc examples
	scripts/with-dynamodb-local.sh $(TEST_RUNNER)
	cargo test --doc --workspace

invoke-samples: ## Every sample through cargo lambda watch + cargo lambda invoke
	python3 scripts/watch_smoke.py

watch: setup ## Run the functions under cargo lambda watch (memory backend, seeded)
	# Loopback only (cargo lambda watch listens on every interface, ::, by default); ::1 is
	# where cargo lambda invoke sends by default.
	cargo lambda watch --env-file events/watch.env --invoke-address ::1

build: setup ## Release build of every function for Lambda (zip), $(ARCH)
	cargo lambda build --release --$(ARCH) --output-format zip $(addprefix --bin ,$(FUNCTIONS))

sizes: build ## Print each function's zipped bootstrap size
	@for f in $(FUNCTIONS); do printf '%-14s %8d bytes zipped  %9d bytes unzipped\n' $$f \
	  $$(stat -c %s target/lambda/$$f/bootstrap.zip) $$(unzip -l target/lambda/$$f/bootstrap.zip | tail -1 | awk '{print $$1}'); done

samples: ## Regenerate the samples, seed and manifest under events/
	cargo xtask samples

schemas: ## Regenerate the event schemas under events/schemas/
	cargo xtask schemas

workflows: ## Regenerate both workflow definitions under statemachines/ from xtask's one description
	cargo xtask workflows

diagram: ## Regenerate the workflow diagrams in docs/workflows.md from the ASL
	cargo xtask diagram

clean: ## Remove build output and installed tools
	cargo clean
	rm -rf .venv .local infra/.aws-sam
