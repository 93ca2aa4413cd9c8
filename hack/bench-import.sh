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
. hack/lib.sh
reg_port=$(free_port)
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$work/registry" "$reg_port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
track $!
port=$(free_port)
start_server "$BIN/oxshift" "$work/data" "$port" --node=false --registry=false --router=false \
  --controllers=false
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
