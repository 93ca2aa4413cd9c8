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
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/oxshift" start --data-dir "$work/data" --listen "127.0.0.1:$port" --node=false >"$work/server.log" 2>&1 &
server_pid=$!
until [ -f "$work/data/pki/ca.crt" ] && curl -sf --cacert "$work/data/pki/ca.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.05
done
"$BIN/oxshift-load" --kubeconfig "$work/data/admin.kubeconfig" --server-pid "$server_pid" \
  image-mappings --streams "$streams" --count "$count"
