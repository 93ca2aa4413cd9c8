#!/usr/bin/env bash
# What the admission chain costs a pod create. Two `oxshift start` servers run side by side
# (no controllers, scheduler, node, registry or router, so the server does the API's work
# and nothing else): one with every admission plugin, one with them all switched off
# (--disable-admission-plugins). `oxshift-load pod-create` drives them in interleaved rounds
# (on, off, then off, on, ...), after one untimed warm-up run each.
#
# The primary figure is the server's CPU time per pod (utime + stime from /proc): it holds on
# a busy machine, where wall-clock throughput and latency (printed too) follow whatever else
# runs. It is read before a run and again SETTLE seconds after it: the store writes what it
# committed to disk in layers, one a second, and a run's pods are only paid for once their
# layers are written (a fifth or more of a create's CPU). Read around the creates alone, a
# round counted another's writes or none, at random. Prints every round, the medians and the
# ratios; admission's cost is CPU per pod on/off - 1.
#
# REQUESTER says who creates the pods: `admin` (the default), the kubeconfig's cluster admin,
# whose pods run under `anyuid` and draw a Pod Security warning; or `editor`, a service account
# bound to `edit` in the pods' namespace, whose pods get `restricted-v2` and pass `restricted`.
#
# OFF_KEEPS names plugins (comma-separated) the "off" server keeps, to measure the others
# alone: OFF_KEEPS=NamespaceLifecycle,ServiceAccount,DefaultTolerationSeconds compares with
# a server that still gives pods their accounts' token volumes.
#
#   hack/bench-admission.sh                 # binaries from $CARGO_TARGET_DIR/debug (or target/)
#   OXSHIFT_BIN=... LOAD_BIN=... ROUNDS=8 COUNT=3000 CLIENTS=16 SETTLE=2 REQUESTER=editor hack/bench-admission.sh
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
oxshift=${OXSHIFT_BIN:-$target/debug/oxshift}
load=${LOAD_BIN:-$target/debug/oxshift-load}
rounds=${ROUNDS:-6} count=${COUNT:-3000} clients=${CLIENTS:-16} settle=${SETTLE:-2}
requester=${REQUESTER:-admin}
case $requester in admin | editor) ;; *) echo "REQUESTER is admin or editor" >&2; exit 1 ;; esac
ticks_per_second=$(getconf CLK_TCK)
. hack/lib.sh

all=$(admission_plugins_off "$oxshift")

declare -A pid dir
serve() {
  local label=$1 port
  shift
  dir[$label]=$work/data-$label port=$(free_port)
  start_server "$oxshift" "${dir[$label]}" "$port" --controllers=false --node=false \
    --registry=false --router=false "$@"
  pid[$label]=$server_pid
}
serve on
serve off --disable-admission-plugins "$all"

# The CPU time PID has used in user and in system mode, in clock ticks (fields 14 and 15 of
# /proc/PID/stat): instruction profiles count the user part only.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

results=$work/results
# measure LABEL [COUNT]: one pod-create run against LABEL's server, then SETTLE seconds for
# its layers to be written; recorded unless COUNT is given (a warm-up).
runs=0
measure() {
  local label=$1 n=${2:-$count} out user0 sys0 user1 sys1
  local kubeconfig=${dir[$label]}/admin.kubeconfig as=() into=()
  if [ "$requester" = editor ]; then
    runs=$((runs + 1))
    local ns=editor-$runs
    as=(--token "$(editor_namespace "$kubeconfig" "$ns")") into=(--namespace "$ns")
  fi
  read -r user0 sys0 < <(cpu_ticks "${pid[$label]}")
  out=$("$load" --kubeconfig "$kubeconfig" "${as[@]}" \
    pod-create --count "$n" --clients "$clients" "${into[@]}")
  sleep "$settle"
  read -r user1 sys1 < <(cpu_ticks "${pid[$label]}")
  [ -n "${2:-}" ] && return 0
  local user=$(((user1 - user0) * 1000000 / ticks_per_second / n))
  local sys=$(((sys1 - sys0) * 1000000 / ticks_per_second / n))
  local cpu=$((user + sys))
  printf '%-3s %s; server CPU %s us/pod with its disk writes (user %s, system %s)\n' \
    "$label" "$out" "$cpu" "$user" "$sys"
  # Every pod created, or the figures would compare unlike work.
  grep -q ", 201x$n\(;\|$\)" <<<"$out" || { echo "not every pod was created" >&2; exit 1; }
  local row
  row=$(sed -nE 's#^pods .*: ([0-9]+)/s, latency ms p50/p90/p99/max ([0-9.]+) / [0-9.]+ / ([0-9.]+) / .*#\1 \2 \3#p' <<<"$out")
  [ -n "$row" ] || { echo "unreadable: $out" >&2; exit 1; }
  echo "$label $row $cpu $user $sys" >>"$results"
}

measure on 300
measure off 300
for ((i = 1; i <= rounds; i++)); do
  echo "round $i (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  if ((i % 2)); then measure on; measure off; else measure off; measure on; fi
done

echo
echo "pod creates by the $requester ($count, $clients clients), $rounds interleaved rounds, both servers up; medians"
[ -z "${OFF_KEEPS:-}" ] || echo "the server with admission off keeps $OFF_KEEPS"
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if len(line.split()) == 7]
def med(label, i):
    return statistics.median(float(r[i]) for r in rows if r[0] == label)
names = ["creates/s", "p50 ms", "p99 ms", "server CPU us/pod (with its disk writes)",
         "  of which user", "  of which system"]
print("| figure | admission on | admission off | on/off |")
print("|---|---|---|---|")
for i, name in enumerate(names, 1):
    on, off = med("on", i), med("off", i)
    print(f"| {name} | {on:g} | {off:g} | {on / off:.3f} |")
# Per round, so a slow patch of the machine weighs on both sides of the ratio alike.
ratios = [float(a[4]) / float(b[4]) for a, b in
          zip([r for r in rows if r[0] == "on"], [r for r in rows if r[0] == "off"])]
print("CPU per pod on/off by round: " + " ".join(f"{r:.3f}" for r in ratios))
print(f"admission's cost in server CPU per pod: {(statistics.median(ratios) - 1) * 100:.1f}% "
      f"(median of the rounds' ratios)")
print(f"admission's cost in throughput: {(1 - med('on', 1) / med('off', 1)) * 100:.1f}%")
PY
