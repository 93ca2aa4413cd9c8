#!/usr/bin/env bash
# Image trigger figures on a fresh server (controllers in-process):
#   FOLLOWERS DeploymentConfigs and Deployments (half each) following the `latest` tags of
#   TAGS image streams, then one ImageStreamMapping per tag, one after another: the time from
#   the mapping's answer until each follower's new ReplicationController or ReplicaSet is seen
#   in a watch (p50/p90/p99/max; targets: p99 ≤ 100 ms), with the mapping request's own
#   latency as the reference; then FAN followers of one tag and one mapping: the time until
#   all have rolled (target ≤ 2 s).
#   With REPLICAS > 0 the followers' pods run on a simulated node. With TRACE=1 the server
#   writes an audit log of the requests of the chain, and `hack/trace-triggers.py` prints
#   where each step's time goes (the audit log costs some of it).
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
trace=${TRACE:-0}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift -p load --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi

. hack/lib.sh

node=(--node=false)
if [ "$replicas" -gt 0 ]; then
  node=(--node-runtime simulated --node-name sim --node-port 0 --node-pod-cidr 10.131.250.0/23)
fi
audit=()
if [ "$trace" = 1 ]; then
  cat >"$work/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  resources:
  - group: image.openshift.io
    resources: [imagestreammappings]
  - group: apps
    resources: [deployments, deployments/status, replicasets]
  - group: apps.openshift.io
    resources: [deploymentconfigs, deploymentconfigs/status]
  - group: ""
    resources: [replicationcontrollers]
- level: None
EOF
  audit=(--audit-policy "$work/audit-policy.yaml" --audit-log "$work/audit.log")
fi
start_server "$BIN/oxshift" "$work/data" "$(free_port)" --registry=false --router=false "${node[@]}" "${audit[@]}"
echo "== image triggers: $followers followers of $tags tags, $fan of one tag, $replicas replicas each;" \
  "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before"
"$BIN/oxshift-load" --kubeconfig "$work/data/admin.kubeconfig" --server-pid "$server_pid" \
  triggers --tags "$tags" --followers "$followers" --fan "$fan" --replicas "$replicas"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$trace" = 1 ]; then
  python3 hack/trace-triggers.py "$work/audit.log"
fi
