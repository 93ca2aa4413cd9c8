#!/usr/bin/env bash
# Webhook → Build created: the latency of a build config's generic webhook against a local
# `oxshift start` (the answer carries the created Build, so the request's time is the time to
# the stored build). Requests go one after another over one kept-alive connection, as a Git
# server's deliveries do, each followed by an `instantiate` of a second config by a service
# account (the same build generation without the webhook's own work) as the reference; p50/p99
# of both printed, the webhook's against the 50 ms target.
#
#   hack/bench-build-webhook.sh [N]        (OXSHIFT_BIN: a built server; default a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
if [ -z "${OXSHIFT_BIN:-}" ]; then
  cargo build --release -p oxshift --bins
  OXSHIFT_BIN=target/release/oxshift
fi
. hack/lib.sh
port=$(free_port)
start_server "$OXSHIFT_BIN" "$work/data" "$port" --node=false --router=false --registry=false
export KUBECONFIG=$work/data/admin.kubeconfig
kubectl create namespace bench >/dev/null
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata: {name: hook, namespace: bench}
spec:
  runPolicy: Parallel
  source: {git: {uri: "https://127.0.0.1:1/repo.git"}}
  strategy: {dockerStrategy: {}}
  output: {to: {kind: DockerImage, name: "127.0.0.1:5000/bench/hook:latest"}}
  successfulBuildsHistoryLimit: 5
  triggers: [{type: Generic, generic: {secret: bench-secret}}]
---
apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata: {name: direct, namespace: bench}
spec:
  runPolicy: Parallel
  source: {git: {uri: "https://127.0.0.1:1/repo.git"}}
  strategy: {dockerStrategy: {}}
  output: {to: {kind: DockerImage, name: "127.0.0.1:5000/bench/direct:latest"}}
  successfulBuildsHistoryLimit: 5
YAML
kubectl -n bench create rolebinding bench-edit --clusterrole=edit --serviceaccount=bench:default >/dev/null
token=$(kubectl -n bench create token default)
base="https://127.0.0.1:$port/apis/build.openshift.io/v1/namespaces/bench/buildconfigs"
hook='{"git":{"ref":"master","commit":"0123456789abcdef0123456789abcdef01234567"}}'
request='{"kind":"BuildRequest","apiVersion":"build.openshift.io/v1","metadata":{"name":"direct"}}'
ca=$work/data/pki/ca.crt
# Options hold for one transfer up to `--next`: each one names its CA again.
args=()
for i in $(seq "$n"); do
  [ "$i" -gt 1 ] && args+=(--next)
  args+=(-s --cacert "$ca" -X POST -H 'Content-Type: application/json' --data "$hook" -o /dev/null
    -w 'webhook %{http_code} %{time_total}\n' "$base/hook/webhooks/bench-secret/generic" --next
    -s --cacert "$ca" -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $token" --data "$request"
    -o /dev/null -w 'instantiate %{http_code} %{time_total}\n' "$base/direct/instantiate")
done
curl "${args[@]}" >"$work/times"
created=$(kubectl -n bench get builds --no-headers | wc -l)
python3 - "$work/times" "$created" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"{sys.argv[2]} builds stored")
for kind, label in [("webhook", "webhook -> Build created"), ("instantiate", "instantiate (reference)")]:
    mine = [r for r in rows if r[0] == kind]
    bad = [r for r in mine if r[1] != "201" and r[1] != "200"]
    times = sorted(float(r[2]) * 1000 for r in mine)
    pick = lambda q: times[min(len(times) - 1, int(len(times) * q))]
    print(f"{label}: {len(times)} requests, {len(bad)} failed; "
          f"p50 {pick(0.5):.1f} ms, p90 {pick(0.9):.1f} ms, p99 {pick(0.99):.1f} ms, max {times[-1]:.1f} ms")
print("target: webhook p99 <= 50 ms")
PY
