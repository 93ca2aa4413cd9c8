#!/usr/bin/env bash
# ImageStreamMapping latency: STREAMS image streams (1,000) in one project, then COUNT
# mappings (5,000), each a new Image tagged into one of them (`oxshift-load image-mappings`),
# on a fresh server without controllers' import work. Prints p50/p90/p99/max in ms.
#
#   hack/bench-images.sh
#   STREAMS=1000 COUNT=5000 hack/bench-images.sh
#   BIN=/path/to/binaries hack/bench-images.sh   # binaries built elsewhere (e.g. debug)
set -euo pipefail
cd "$(dirname "$0")/.."
streams=${STREAMS:-1000}
count=${COUNT:-5000}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift -p load --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
. hack/lib.sh
start_server "$BIN/oxshift" "$work/data" "$(free_port)" --node=false
"$BIN/oxshift-load" --kubeconfig "$work/data/admin.kubeconfig" --server-pid "$server_pid" \
  image-mappings --streams "$streams" --count "$count"
