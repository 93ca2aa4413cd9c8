# Shared by the benchmark scripts (sourced, after `set -euo pipefail`): a scratch directory
# `$work` removed at exit, with every process handed to `track` stopped first; loopback
# ports; a millisecond clock; and `oxshift start` waited for until it is ready.

work=$(mktemp -d)
tracked_pids=()
# Extra cleanup a script needs before the scratch directory goes (e.g. git worktrees).
at_exit=()

# Stops PID at exit (unless it has ended by then).
track() { tracked_pids+=("$1"); }

_bench_cleanup() {
  local pid step
  for pid in "${tracked_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for step in "${at_exit[@]}"; do eval "$step" || true; done
  rm -rf "$work"
}
trap _bench_cleanup EXIT

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# start_server BIN DIR PORT [flags...]: `BIN start` on DIR and 127.0.0.1:PORT in the
# background (log: DIR.log), waited for until /readyz answers. Sets server_pid and
# started_ms (the time to ready); fails with the log if the server exits first.
start_server() {
  local bin=$1 dir=$2 port=$3 t0
  shift 3
  t0=$(now_ms)
  "$bin" start --data-dir "$dir" --listen "127.0.0.1:$port" "$@" >>"$dir.log" 2>&1 &
  server_pid=$!
  track "$server_pid"
  until [ -f "$dir/admin.kubeconfig" ] && [ -f "$dir/pki/ca.crt" ] &&
    curl -sf --cacert "$dir/pki/ca.crt" "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$dir.log" >&2; exit 1; }
    sleep 0.02
  done
  started_ms=$(($(now_ms) - t0))
}

# Stops the server start_server started last.
stop_server() {
  [ -n "${server_pid:-}" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# editor_namespace KUBECONFIG NAME: creates namespace NAME, allocated as the namespace security
# controller allocates, with a service account `load` bound to the `edit` cluster role in it,
# and prints a token of that account. Pods it creates are an ordinary requester's (as a
# deployment's controller or a CI job creates them): they run under `restricted-v2`.
editor_namespace() {
  local k=(kubectl --kubeconfig "$1") ns=$2
  "${k[@]}" create -f - >/dev/null <<JSON
{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "$ns", "annotations": {
  "openshift.io/sa.scc.uid-range": "1000680000/10000",
  "openshift.io/sa.scc.supplemental-groups": "1000680000/10000",
  "openshift.io/sa.scc.mcs": "s0:c26,c15"}}}
JSON
  "${k[@]}" -n "$ns" create serviceaccount load >/dev/null
  "${k[@]}" -n "$ns" create rolebinding load-edit --clusterrole=edit --serviceaccount="$ns:load" >/dev/null
  "${k[@]}" -n "$ns" create token load --duration=24h
}

# admission_plugins_off BIN: the plugins an "admission off" server is given to switch off,
# comma-separated: every plugin BIN can switch off (the names it lists when given an unknown
# one), but those OFF_KEEPS names (comma-separated; empty by default).
admission_plugins_off() {
  local all keep=",${OFF_KEEPS:-},"
  all=$("$1" start --data-dir "$work/probe" --listen 127.0.0.1:0 --disable-admission-plugins none 2>&1 |
    sed -nE 's/.*known: (.*)$/\1/p' | tr -d ' ' || true)
  [ -n "$all" ] || { echo "could not read the plugin names from $1" >&2; return 1; }
  tr ',' '\n' <<<"$all" | while read -r plugin; do
    [[ $keep == *",$plugin,"* ]] || echo "$plugin"
  done | paste -sd,
}
