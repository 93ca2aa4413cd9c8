#!/usr/bin/env bash
# Overload: the API server driven by more concurrent writers than its mutating in-flight limit
# (200) lets in, 2× and 4× by default, each repeating a write with no pause for SECONDS
# (oxshift-load overload): merge patches of 10,000 ConfigMaps by default, so that the store's
# size stays flat and memory shows what the writers in flight cost (OP=create adds a 1 KiB
# ConfigMap per accepted write instead). The writers authenticate as a service account bound
# to cluster-admin, since system:masters (the admin certificate) is exempt from the limits.
# A refused writer retries at once (the harshest client); RETRY_AFTER=1 makes it wait as
# the 429's Retry-After says, as client-go does. Each run gets a fresh server; for each the
# script prints accepted writes/s, 429s, the latency of accepted writes (p50/p99), the
# server's RSS over the run and its peak. Then the same runs with the limits raised far
# above the load, to show what the limits prevent.
#
#   hack/bench-overload.sh                              # patches, 400 and 800 clients, 30 s
#   OP=create CLIENTS="400" SECONDS_PER_RUN=10 hack/bench-overload.sh
#   RETRY_AFTER=1 hack/bench-overload.sh
#   BIN=/path/to/release hack/bench-overload.sh         # binaries built elsewhere
#
# BIN holds `oxshift` and `oxshift-load`; without it they are built here
# (`cargo build --release -p oxshift -p load`, in CARGO_TARGET_DIR if set).
set -euo pipefail
cd "$(dirname "$0")/.."
op=${OP:-patch}
clients=${CLIENTS:-400 800}
seconds=${SECONDS_PER_RUN:-30}
retry=()
[ -n "${RETRY_AFTER:-}" ] && retry=(--honor-retry-after)
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift -p load --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
bin=$BIN/oxshift
load=$BIN/oxshift-load

. hack/lib.sh
status_mib() { awk -v f="$2:" '$1 == f {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# Starts a fresh server with "$@" as extra options; sets $dir, $api and $server_pid.
fresh_server() {
  dir=$work/data-$RANDOM
  local port; port=$(free_port)
  api=https://127.0.0.1:$port
  start_server "$bin" "$dir" "$port" "$@"
}

# A token of a service account bound to cluster-admin: RBAC-evaluated and in-flight limited.
limited_token() {
  admin() { curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" -H 'Content-Type: application/json' "$@"; }
  admin -X POST "$api/api/v1/namespaces/kube-system/serviceaccounts" -d '{"metadata":{"name":"overload"}}' >/dev/null
  admin -X POST "$api/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" \
    -d '{"metadata":{"name":"overload"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"ServiceAccount","name":"overload","namespace":"kube-system"}]}' >/dev/null
  admin -X POST "$api/api/v1/namespaces/kube-system/serviceaccounts/overload/token" -d '{"spec":{}}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])'
}

rows=()
# One run: a fresh server with the limits "$2", "$1" clients; appends a row to the table.
run() {
  local n=$1 limits=$2
  # shellcheck disable=SC2086 # the limits are separate options
  fresh_server $limits
  local token; token=$(limited_token)
  local line
  line=$("$load" --kubeconfig "$dir/admin.kubeconfig" --token "$token" --server-pid "$server_pid" \
    overload --op "$op" --clients "$n" --seconds "$seconds" "${retry[@]}")
  echo "$line"
  local after hwm threads
  after=$(status_mib "$server_pid" VmRSS) hwm=$(status_mib "$server_pid" VmHWM)
  threads=$(awk '$1 == "Threads:" {print $2}' "/proc/$server_pid/status")
  echo "  server after the run: RSS ${after} MiB, peak since start ${hwm} MiB, ${threads} threads; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_server
  # "accepted 1234/s (N), 429 56/s (M), ... p50/p90/p99/max a / b / c / d; ..."
  local figures
  figures=$(head -1 <<<"$line" | sed -E 's#.*accepted ([0-9]+)/s \(([0-9]+)\), 429 [0-9]+/s \(([0-9]+)\).*p50/p90/p99/max ([0-9.]+) / [0-9.]+ / ([0-9.]+) / ([0-9.]+);.*#\1 | \2 | \3 | \4 | \5 | \6#')
  rows+=("$3 | $n | $figures | $hwm | $after")
}

default_limits="--max-requests-inflight 400 --max-mutating-requests-inflight 200"
raised_limits="--max-requests-inflight 100000 --max-mutating-requests-inflight 100000"
echo "== $op for ${seconds}s per run, limits 400/200 (the defaults)"
for n in $clients; do run "$n" "$default_limits" "400/200"; done
echo "== the same, limits raised to 100000/100000"
for n in $clients; do run "$n" "$raised_limits" "100000"; done

echo
echo "| limits (read/mutating) | clients | accepted/s | accepted | 429s | p50 ms | p99 ms | max ms | peak RSS MiB | RSS after MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do echo "| $row |"; done
