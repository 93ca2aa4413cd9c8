#!/usr/bin/env bash
# What the admission chain costs a pod create: starts `oxshift start` (no node, registry or
# router) on a fresh data directory with every admission plugin, then with them all switched
# off (--disable-admission-plugins), alternating ROUNDS times, and runs `oxshift-load
# pod-create` against each. Prints every round, then the medians and the ratio.
#
#   hack/bench-admission.sh                 # binaries from $CARGO_TARGET_DIR/debug (or target/)
#   OXSHIFT_BIN=... LOAD_BIN=... ROUNDS=5 COUNT=5000 CLIENTS=32 hack/bench-admission.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
oxshift=${OXSHIFT_BIN:-$target/debug/oxshift}
load=${LOAD_BIN:-$target/debug/oxshift-load}
rounds=${ROUNDS:-3} count=${COUNT:-3000} clients=${CLIENTS:-32}
. hack/lib.sh

# Every plugin the server can switch off: the names it lists when given an unknown one.
all=$("$oxshift" start --data-dir "$work/probe" --listen 127.0.0.1:0 --disable-admission-plugins none 2>&1 |
  sed -nE 's/.*known: (.*)$/\1/p' | tr -d ' ' || true)
[ -n "$all" ] || { echo "could not read the plugin names from $oxshift" >&2; exit 1; }

results=$work/results
round() {
  local label=$1 dir port out
  shift
  dir=$work/data-$label-$RANDOM port=$(free_port)
  start_server "$oxshift" "$dir" "$port" --node=false --registry=false --router=false "$@"
  sleep 1
  out=$("$load" --kubeconfig "$dir/admin.kubeconfig" --server-pid "$server_pid" pod-create --count "$count" --clients "$clients")
  echo "$label: $out"
  stop_server
  echo "$label $(sed -nE 's#^pods .*: ([0-9]+)/s, latency ms p50/p90/p99/max ([0-9.]+) / ([0-9.]+) / ([0-9.]+) / .*#\1 \2 \4#p' <<<"$out")" >>"$results"
}

for ((i = 1; i <= rounds; i++)); do
  round chain
  round off --disable-admission-plugins "$all"
done

echo
echo "pod creates ($count, $clients clients), $rounds rounds each, alternated; medians"
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if len(line.split()) == 4]
def med(label, i):
    return statistics.median(float(r[i]) for r in rows if r[0] == label)
names = ["creates/s", "p50 ms", "p99 ms"]
print("| figure | admission on | admission off | on/off |")
print("|---|---|---|---|")
for i, name in enumerate(names, 1):
    on, off = med("chain", i), med("off", i)
    print(f"| {name} | {on:g} | {off:g} | {on / off:.3f} |")
on, off = med("chain", 1), med("off", 1)
print(f"admission's cost in throughput: {(1 - on / off) * 100:.1f}%")
PY
