#!/usr/bin/env bash
# The persistent-volume binder's figure: on a fresh all-in-one server (no node), COUNT static
# PersistentVolumes are created first (1Gi each, class `bench`), then COUNT claims at once
# (8 kubectl clients); prints how long the claims took to be created and how long until the
# last one was Bound, from the first create. The reference, in the same run: COUNT plain
# objects (config maps) created by the same 8 clients, the floor the claims' creation sets.
#
# kubectl's default `--validate=strict` costs the client ~12 ms of CPU per object (it
# consults the group's /openapi/v3 document for each object: 1.5 s of kubectl CPU for 125
# config maps, 0.06 s with `--validate=false`), so 8 such clients on this machine create
# about 80 objects a second whatever the server does and the figure measures kubectl. The
# objects are thus created with `--validate=false` (the server still validates them, but
# drops unknown fields instead of refusing them); KUBECTL_VALIDATE=strict gives the figure
# with kubectl's default.
#
#   hack/bench-pv-binder.sh
#   COUNT=1000 BIN=/path/to/bin hack/bench-pv-binder.sh   # binaries built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-1000}
clients=8
validate=${KUBECTL_VALIDATE:-false}
if [ -z "${BIN:-}" ]; then
  cargo build -p oxshift
  BIN=${CARGO_TARGET_DIR:-target}/debug
fi
bin=$BIN/oxshift

. hack/lib.sh

port=$(free_port)
start_server "$bin" "$work/data" "$port" --node=false --router=false --registry=false
export KUBECONFIG=$work/data/admin.kubeconfig
kubectl create namespace bench >/dev/null

for i in $(seq 1 "$count"); do
  printf 'apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: pv-%s\nspec:\n  capacity:\n    storage: 1Gi\n  accessModes: [ReadWriteOnce]\n  storageClassName: bench\n  hostPath:\n    path: /tmp/bench/%s\n---\n' "$i" "$i"
done >"$work/volumes.yaml"
t0=$(now_ms)
kubectl create --validate="$validate" -f "$work/volumes.yaml" >/dev/null
echo "volumes created in $(($(now_ms) - t0)) ms" >&2
until [ "$(kubectl get pv -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Available$')" -eq "$count" ]; do
  sleep 0.2
done
echo "volumes Available $(($(now_ms) - t0)) ms after the first create" >&2

for c in $(seq 0 $((clients - 1))); do
  for i in $(seq "$c" "$clients" $((count - 1))); do
    printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: claim-%s\n  namespace: bench\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: bench\n  resources:\n    requests:\n      storage: 1Gi\n---\n' "$i"
  done >"$work/claims-$c.yaml"
done
start=$(now_ms)
for c in $(seq 0 $((clients - 1))); do
  kubectl create --validate="$validate" -f "$work/claims-$c.yaml" >/dev/null &
done
wait $(jobs -p | grep -v "^$server_pid$") 2>/dev/null || true
created=$(now_ms)
until [ "$(kubectl get pvc -n bench -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Bound$')" -eq "$count" ]; do
  sleep 0.1
done
bound=$(now_ms)
doubled=$(kubectl get pv -o jsonpath='{range .items[*]}{.spec.claimRef.name}{"\n"}{end}' | sort | uniq -d | grep -c . || true)
echo "retried writes: $(grep -c 'retrying' "$work/data.log" || true)" >&2
grep 'retrying' "$work/data.log" | head -3 >&2 || true
for c in $(seq 0 $((clients - 1))); do
  for i in $(seq "$c" "$clients" $((count - 1))); do
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-%s\n  namespace: bench\ndata:\n  size: 1Gi\n---\n' "$i"
  done >"$work/plain-$c.yaml"
done
plain_start=$(now_ms)
for c in $(seq 0 $((clients - 1))); do
  kubectl create --validate="$validate" -f "$work/plain-$c.yaml" >/dev/null &
done
wait $(jobs -p | grep -v "^$server_pid$") 2>/dev/null || true
plain=$(($(now_ms) - plain_start))
echo "reference: $count config maps created in $plain ms by the same $clients clients (kubectl --validate=$validate)"
echo "binder: $count claims created in $((created - start)) ms, all Bound $((bound - start)) ms after the first create ($doubled volumes claimed twice)"
