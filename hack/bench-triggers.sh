#!/usr/bin/env bash
# Image trigger figures on a fresh server (controllers in-process):
#   FOLLOWERS DeploymentConfigs and Deployments (half each) following the `latest` tags of
#   TAGS image streams, then one ImageStreamMapping per tag, one after another: the time from
#   the mapping's answer until each follower's new ReplicationController or ReplicaSet is seen
#   in a watch (p50/p90/p99/max; targets: p99 ≤ 100 ms), with the mapping request's own
#   latency as the reference; then FAN followers of one tag and one mapping: the time until
#   all have rolled (target ≤ 2 s).
#   With REPLICAS > 0 the followers' pods run on a simulated node.
#
#   hack/bench-triggers.sh
#   TAGS=100 FOLLOWERS=1000 FAN=100 REPLICAS=1 hack/bench-triggers.sh
#   BIN=/path/to/binaries hack/bench-triggers.sh     # built elsewhere (release or debug)
set -euo pipefail
cd "$(dirname "$0")/.."
tags=${TAGS:-100}
followers=${FOLLOWERS:-1000}
fan=${FAN:-100}
replicas=${REPLICAS:-0}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift -p load --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node=(--node=false)
if [ "$replicas" -gt 0 ]; then
  node=(--node-runtime simulated --node-name sim --node-port 0 --node-pod-cidr 10.131.250.0/23)
fi
"$BIN/oxshift" start --data-dir "$work/data" --listen "127.0.0.1:$port" --registry=false \
  --router=false "${node[@]}" >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
until [ -f "$work/data/pki/ca.crt" ] &&
  curl -sf --cacert "$work/data/pki/ca.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.05
done
echo "== image triggers: $followers followers of $tags tags, $fan of one tag, $replicas replicas each"
"$BIN/oxshift-load" --kubeconfig "$work/data/admin.kubeconfig" --server-pid "$server_pid" \
  triggers --tags "$tags" --followers "$followers" --fan "$fan" --replicas "$replicas"
