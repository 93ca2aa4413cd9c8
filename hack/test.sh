#!/usr/bin/env bash
# The test command: installs what the tests need, then runs every test of the workspace
# (unit, conformance against redb and a real etcd, crash safety, end-to-end) with all features.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/setup.sh
# The end-to-end tests start the real binaries: build them with the same features first.
cargo build --workspace --all-features --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --no-fail-fast "$@"
else
  cargo test --workspace --all-features --no-fail-fast "$@"
fi
