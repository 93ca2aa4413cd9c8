#!/usr/bin/env bash
# Compares the API server of two revisions on this machine in one run: builds release `oxshift`
# of each (in a temporary git worktree; the binaries are kept by commit under
# $TARGET/compare/, so a second comparison builds only what is new) and `oxshift-load` once
# from this checkout, then alternates the two servers (A B A B ...), each round on a fresh
# data directory, through the same workloads: creates/s (20,000, 64 clients), gets/s (40,000,
# 32 clients), a 10,000-object LIST's p50 and watch fan-out to 1,000 watchers (500 events at
# 50/s: delivery p99, events lost). Prints each round's figures, then a table of the medians
# with the ratio after/before.
#
#   hack/bench-compare.sh 0a3d730 HEAD
#   ROUNDS=3 hack/bench-compare.sh REV_BEFORE REV_AFTER
#
# TARGET is CARGO_TARGET_DIR if set, else this checkout's target/; both revisions build there
# (dependencies are shared, each revision's own crates are built apart).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REV_BEFORE REV_AFTER" >&2; exit 2; }
cd "$(dirname "$0")/.."
root=$PWD
rounds=${ROUNDS:-2}
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$target/compare"
target=$(cd "$target" && pwd)

. hack/lib.sh

# Builds release oxshift of commit $1 into $target/compare/oxshift-$1, unless it is there.
build() {
  local sha=$1 bin=$target/compare/oxshift-$1 src=$work/src-$1
  [ -x "$bin" ] && return 0
  git worktree add --quiet --detach "$src" "$sha"
  at_exit+=("git -C '$root' worktree remove --force '$src' 2>/dev/null")
  (cd "$src" && CARGO_TARGET_DIR=$target cargo build --release -p oxshift --bin oxshift)
  cp "$target/release/oxshift" "$bin.tmp" && mv "$bin.tmp" "$bin"
  git worktree remove --force "$src"
}

before=$(git rev-parse --short=12 "$1^{commit}") after=$(git rev-parse --short=12 "$2^{commit}")
echo "== building oxshift at $before ($1) and $after ($2), oxshift-load from this checkout"
build "$before"
build "$after"
bin_a=$target/compare/oxshift-$before bin_b=$target/compare/oxshift-$after
CARGO_TARGET_DIR=$target cargo build --release -p load --bin oxshift-load
load=$target/release/oxshift-load

# One round of $2 (label $1) on a fresh data directory; appends "label create get list p99 lost".
results=$work/results
round() {
  local label=$1 bin=$2 dir port out
  dir=$work/data-$label-$RANDOM port=$(free_port)
  start_server "$bin" "$dir" "$port"
  sleep 1
  local kube=(--kubeconfig "$dir/admin.kubeconfig" --server-pid "$server_pid")
  echo "-- $label ($bin), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  out=$work/out-$label
  {
    "$load" "${kube[@]}" create --count 20000 --clients 64
    "$load" "${kube[@]}" get --count 40000 --clients 32
    "$load" "${kube[@]}" list --objects 10000 --repeat 10
    "$load" "${kube[@]}" watch --watchers 1000 --events 500 --rate 50
  } | tee "$out"
  stop_server
  local create get list watch
  create=$(sed -nE 's#^create .*: ([0-9]+)/s,.*#\1#p' "$out")
  get=$(sed -nE 's#^get .*: ([0-9]+)/s,.*#\1#p' "$out")
  list=$(sed -nE 's#^list .*full LIST ms p50/p90/p99/max ([0-9.]+) / .*#\1#p' "$out")
  watch=$(sed -nE 's#^watch .*\(lost ([0-9]+)\), delivery from send ms p50/p90/p99/max [0-9.]+ / [0-9.]+ / ([0-9.]+) / .*#\2 \1#p' "$out")
  echo "$label $create $get $list $watch" >>"$results"
}

for ((i = 1; i <= rounds; i++)); do
  round A "$bin_a"
  round B "$bin_b"
done

echo
echo "A = $before ($1), B = $after ($2); $rounds rounds each, alternated; medians (each round's figures)"
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
names = ["creates/s (20,000, 64 clients)", "gets/s (40,000, 32 clients)",
         "LIST 10,000 p50 ms", "watch 1,000 x 50/s p99 ms", "watch events lost"]
better = ["higher", "higher", "lower", "lower", "lower"]
print("| workload | A (before) | B (after) | B/A | better |")
print("|---|---|---|---|---|")
for i, name in enumerate(names):
    figures = {label: [float(r[i + 1]) for r in rows if r[0] == label] for label in "AB"}
    a, b = statistics.median(figures["A"]), statistics.median(figures["B"])
    ratio = f"{b / a:.2f}" if a else "-"
    show = lambda v: ", ".join(f"{x:g}" for x in v)
    print(f"| {name} | {a:g} ({show(figures['A'])}) | {b:g} ({show(figures['B'])}) | {ratio} | {better[i]} |")
PY
