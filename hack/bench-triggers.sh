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

. hack/lib.sh

node=(--node=false)
if [ "$replicas" -gt 0 ]; then
  node=(--node-runtime simulated --node-name sim --node-port 0 --node-pod-cidr 10.131.250.0/23)
fi
start_server "$BIN/oxshift" "$work/data" "$(free_port)" --registry=false --router=false "${node[@]}"
echo "== image triggers: $followers followers of $tags tags, $fan of one tag, $replicas replicas each"
"$BIN/oxshift-load" --kubeconfig "$work/data/admin.kubeconfig" --server-pid "$server_pid" \
  triggers --tags "$tags" --followers "$followers" --fan "$fan" --replicas "$replicas"
