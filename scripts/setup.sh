#!/usr/bin/env bash
# Installs everything the project needs that is not already on a fresh machine of this kind
# (Rust 1.95, Java 17, Node 20, Python 3.11), from the package registries only:
#   .venv/                 cargo-lambda, ziglang, aws-sam-cli, cfn-lint, checkov, moto (PyPI)
#   .local/dynamodb/       AWS DynamoDB Local (npm package amplify-dynamodb-simulator), and
#                          in loopback/ the launcher that binds it to 127.0.0.1 only (javac)
#   .local/node/           asl-validator (npm)
#   .local/mdbook/         mdBook, which builds docs/ into a book (crates.io, `cargo install`)
#   .local/remark/         remark-cli with remark-validate-links, the offline link check of the
#                          README and docs/ (npm)
#   the aarch64 Rust target, when rustup can fetch it (otherwise builds stay x86_64)
# Idempotent: a second run only checks. Versions are pinned in scripts/requirements.txt,
# scripts/package.json and below.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

need() { command -v "$1" >/dev/null || { echo "setup: $1 is required but not installed ($2)" >&2; exit 1; }; }
need cargo "install Rust with rustup"
need python3 "install Python 3.11"
need java "install a Java 17 runtime (DynamoDB Local needs it)"
need javac "install a Java 17 JDK (its loopback launcher is compiled from scripts/dynamodb-local/)"
need npm "install Node.js 20"

# Python tools in a project virtualenv.
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
if ! cmp -s scripts/requirements.txt .venv/.installed-requirements 2>/dev/null; then
  log "installing Python tools (scripts/requirements.txt)"
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  cp scripts/requirements.txt .venv/.installed-requirements
fi

# DynamoDB Local, from the npm package that ships AWS's jar.
DDB_VERSION=2.9.30
if [ ! -f .local/dynamodb/DynamoDBLocal.jar ]; then
  log "installing DynamoDB Local (amplify-dynamodb-simulator@$DDB_VERSION)"
  mkdir -p .local/tmp
  (cd .local/tmp && npm pack --silent "amplify-dynamodb-simulator@$DDB_VERSION" >/dev/null)
  tar -xzf ".local/tmp/amplify-dynamodb-simulator-$DDB_VERSION.tgz" -C .local/tmp
  rm -rf .local/dynamodb && mv .local/tmp/package/emulator .local/dynamodb
  rm -rf .local/tmp
fi
# Its launcher, which binds it to 127.0.0.1 only (the jar has no host option).
LAUNCHER=scripts/dynamodb-local/LoopbackDynamoDBLocal.java
if ! cmp -s "$LAUNCHER" .local/dynamodb/loopback/LoopbackDynamoDBLocal.java 2>/dev/null; then
  log "compiling DynamoDB Local's loopback launcher ($LAUNCHER)"
  rm -rf .local/dynamodb/loopback && mkdir -p .local/dynamodb/loopback
  (cd .local/dynamodb && javac -nowarn -cp 'DynamoDBLocal.jar:DynamoDBLocal_lib/*' -d loopback "$ROOT/$LAUNCHER")
  cp "$LAUNCHER" .local/dynamodb/loopback/LoopbackDynamoDBLocal.java
fi

# Node tools (asl-validator).
if ! cmp -s scripts/package.json .local/node/package.json 2>/dev/null; then
  log "installing Node tools (scripts/package.json)"
  mkdir -p .local/node
  cp scripts/package.json .local/node/package.json
  (cd .local/node && npm install --silent --no-audit --no-fund >/dev/null)
fi

# mdBook, for `make docs`: only the `search` feature (no `serve` or `watch` server), built
# from crates.io with its own lock file: a few minutes on 2 cores, once.
MDBOOK_VERSION=0.5.4
if [ "$(.local/mdbook/bin/mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
  log "installing mdBook $MDBOOK_VERSION (cargo install, into .local/mdbook)"
  cargo install --quiet --locked --root .local/mdbook --version "$MDBOOK_VERSION" \
    --no-default-features --features search mdbook
fi

# The link check for `make docs`: remark-validate-links checks every relative link and #anchor
# in the README and docs/ against the files and headings in the repository, as GitHub reads
# them, and never fetches a URL.
REMARK_TOOLS="remark-cli@12.0.1 remark-validate-links@13.1.0 remark-gfm@4.0.1"
if [ "$(cat .local/remark/.installed 2>/dev/null)" != "$REMARK_TOOLS" ]; then
  log "installing the link check ($REMARK_TOOLS)"
  rm -rf .local/remark && mkdir -p .local/remark
  printf '{"name": "order-pipeline-docs-tools", "private": true}\n' > .local/remark/package.json
  # shellcheck disable=SC2086 # one word per package
  (cd .local/remark && npm install --silent --no-audit --no-fund --save-exact $REMARK_TOOLS >/dev/null)
  echo "$REMARK_TOOLS" > .local/remark/.installed
fi

# SAM CLI's own config: no telemetry and no weekly version check against PyPI (nothing the
# tests run may call a host off this machine). The Makefile points SAM at this directory.
mkdir -p .local/sam-config
if [ ! -f .local/sam-config/metadata.json ]; then
  printf '{"telemetryEnabled": false, "lastVersionCheck": 4102444800.0}\n' > .local/sam-config/metadata.json
fi

# The arm64 target for `cargo lambda build --arm64` (Lambda runs arm64 by default here).
if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
  if rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
    log "installed the aarch64-unknown-linux-gnu target"
  else
    log "the aarch64 target could not be installed; builds and CI use x86_64 (template parameter Architecture)"
  fi
fi

log "ready: $(.venv/bin/cargo-lambda --version 2>/dev/null || .venv/bin/cargo-lambda lambda --version), $(.local/mdbook/bin/mdbook --version), DynamoDB Local in .local/dynamodb"
