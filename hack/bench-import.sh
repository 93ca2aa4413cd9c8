#!/usr/bin/env bash
# Import of a repository with TAGS (100) tags, each a distinct image, from a docker-registry
# on loopback into a fresh server: one ImageStreamImport naming every tag, as `oc tag`/the
# import controller send them. Prints the first import (stream created, every Image written),
# re-imports, and a plain client's fetch of the same manifests and configs as the reference.
#
#   hack/bench-import.sh
#   TAGS=100 ROUNDS=5 BIN=/path/to/binaries hack/bench-import.sh   # binaries built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${TAGS:-100}
rounds=${ROUNDS:-5}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
reg_port=$(free_port)
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$work/registry" "$reg_port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
port=$(free_port)
"$BIN/oxshift" start --data-dir "$work/data" --listen "127.0.0.1:$port" --node=false \
  --registry=false --router=false --controllers=false >"$work/server.log" 2>&1 &
pids+=($!)
until [ -f "$work/data/pki/ca.crt" ] && curl -sf --cacert "$work/data/pki/ca.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.05
done
until curl -sf "http://127.0.0.1:$reg_port/v2/" >/dev/null; do sleep 0.05; done
# The admin's client certificate, from its kubeconfig.
kc="$work/data/admin.kubeconfig"
field() { grep "$1" "$kc" | head -1 | awk '{print $2}' | base64 -d; }
field client-certificate-data >"$work/admin.crt"
field client-key-data >"$work/admin.key"
curl -sf --cacert "$work/data/pki/ca.crt" --cert "$work/admin.crt" --key "$work/admin.key" \
  -H 'Content-Type: application/json' -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}' \
  "https://127.0.0.1:$port/api/v1/namespaces" >/dev/null
python3 hack/bench_import.py "127.0.0.1:$reg_port" "https://127.0.0.1:$port" \
  "$work/data/pki/ca.crt" "$work/admin.crt" "$work/admin.key" "$tags" "$rounds"
