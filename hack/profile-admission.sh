#!/usr/bin/env bash
# What the admission chain costs a pod create, in instructions: the figure that repeats on a
# busy machine, where CPU time (hack/bench-admission.sh) drifts with whatever else runs.
# Two servers run one after the other under callgrind (no controllers, scheduler, node,
# registry or router), one with every admission plugin and one with them all switched off.
# Each gets an uncounted warm-up run of `oxshift-load pod-create`, then COUNT creates are
# counted. Prints the instructions per pod of the whole server and of the create handler
# (its future's polls, inclusive), and what admission adds to each.
#
#   OXSHIFT_BIN=... LOAD_BIN=... hack/profile-admission.sh     # release binaries advised
#   COUNT=400 CLIENTS=4 WARMUP=50 SETTLE=5 KEEP=dir hack/profile-admission.sh  # KEEP: profiles kept
#   REQUESTER=editor hack/profile-admission.sh    # pods by an ordinary requester (hack/bench-admission.sh)
#   OFF_KEEPS=ServiceAccount hack/profile-admission.sh  # plugins the "off" server keeps (idem)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
oxshift=${OXSHIFT_BIN:-$target/release/oxshift}
load=${LOAD_BIN:-$target/release/oxshift-load}
count=${COUNT:-400} clients=${CLIENTS:-4} warmup=${WARMUP:-50} settle=${SETTLE:-5}
requester=${REQUESTER:-admin}
case $requester in admin | editor) ;; *) echo "REQUESTER is admin or editor" >&2; exit 1 ;; esac
command -v callgrind_control >/dev/null || { echo "needs valgrind (hack/setup.sh installs it)" >&2; exit 1; }
. hack/lib.sh

all=$(admission_plugins_off "$oxshift")

# The server under callgrind, instrumented (and counting) only once told to.
wrapper=$work/under-callgrind
cat >"$wrapper" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="\$CALLGRIND_OUT" "$oxshift" "\$@"
WRAP
chmod +x "$wrapper"

# The create handler's future, whose polls hold every step of a create.
handler='apiserver::registry::generic::write::create::{{closure}}'

declare -A total inside
profile() {
  local label=$1 dir=$work/data-$1 port out
  shift
  port=$(free_port) out=$work/callgrind-$label
  CALLGRIND_OUT=$out start_server "$wrapper" "$dir" "$port" --controllers=false --node=false \
    --registry=false --router=false "$@"
  local run=("$load" --kubeconfig "$dir/admin.kubeconfig") warm=() counted=()
  if [ "$requester" = editor ]; then
    # Both namespaces made before counting starts: the token's signing is no pod's cost.
    warm=(--token "$(editor_namespace "$dir/admin.kubeconfig" warm-up)" pod-create --namespace warm-up)
    counted=(--token "$(editor_namespace "$dir/admin.kubeconfig" counted)" pod-create --namespace counted)
  else
    warm=(pod-create) counted=(pod-create)
  fi
  "${run[@]}" "${warm[@]}" --clients "$clients" --count "$warmup" >/dev/null
  # The store writes what it committed to disk in layers, one a second: the wait lets the
  # warm-up's layer be written before counting starts, and the counted creates' layers
  # before it ends, so that each run counts the disk writes of its own pods and no others.
  sleep "$settle"
  callgrind_control -i on "$server_pid" >/dev/null 2>&1
  local result
  result=$("${run[@]}" "${counted[@]}" --clients "$clients" --count "$count")
  grep -qE ", 201x$count(;|$)" <<<"$result" || { echo "not every pod was created: $result" >&2; exit 1; }
  sleep "$settle"
  callgrind_control -d "$server_pid" >/dev/null 2>&1
  stop_server
  local dump
  dump=$(ls -t "$out".* | head -1)
  [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$dump" "$KEEP/callgrind-$label"
  total[$label]=$(sed -nE 's/^summary: ([0-9]+).*/\1/p' "$dump")
  inside[$label]=$(callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null |
    grep -F "$handler " | head -1 | awk '{gsub(",", "", $1); print $1}')
  [ -n "${total[$label]}" ] && [ -n "${inside[$label]}" ] || { echo "no profile for $label" >&2; exit 1; }
}
profile on
profile off --disable-admission-plugins "$all"

echo "pod creates by the $requester ($count, $clients clients, after $warmup uncounted), instructions per pod"
[ -z "${OFF_KEEPS:-}" ] || echo "the server with admission off keeps $OFF_KEEPS"
python3 - "$count" "${total[on]}" "${total[off]}" "${inside[on]}" "${inside[off]}" <<'PY'
import sys
n = int(sys.argv[1])
t_on, t_off, h_on, h_off = (int(v) / n for v in sys.argv[2:])
print("| figure | admission on | admission off | on - off | on/off |")
print("|---|---|---|---|---|")
for name, on, off in (("whole server", t_on, t_off), ("create handler", h_on, h_off)):
    print(f"| {name} | {on / 1e3:.1f}k | {off / 1e3:.1f}k | {(on - off) / 1e3:.1f}k | {on / off:.3f} |")
PY
