#!/usr/bin/env bash
# Memory and disk of the embedded store holding many objects: creates COUNT ConfigMaps of
# 1 KiB (oxshift-load, 64 clients), prints the server's RSS after the load, restarts it, prints
# its RSS at idle after the restart, then the store's bytes on disk against the payload.
#
#   hack/bench-restart-memory.sh                       # 100,000 objects (a few minutes)
#   COUNT=20000 IDLE=10 hack/bench-restart-memory.sh
#   BIN=/path/to/release hack/bench-restart-memory.sh  # binaries built elsewhere
#
# BIN holds `oxshift` and `oxshift-load`; without it they are built here
# (`cargo build --release -p oxshift -p load`, in CARGO_TARGET_DIR if set).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-100000}
idle=${IDLE:-30}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift -p load --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
bin=$BIN/oxshift
load=$BIN/oxshift-load

. hack/lib.sh
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b/1048576}'; }

dir=$work/data port=$(free_port)
start_server "$bin" "$dir" "$port"
"$load" --kubeconfig "$dir/admin.kubeconfig" --server-pid "$server_pid" create --count "$count" --clients 64
sleep 5
echo "after the load: RSS $(rss_mib "$server_pid") MiB (peak $(hwm_mib "$server_pid") MiB)"
objects=$(curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
  "https://127.0.0.1:$port/api/v1/configmaps" | wc -c)
stop_server

payload=$((count * 1024))
# Bytes the store's files take on disk (allocated blocks; apparent sizes per file).
disk() {
  local allocated; allocated=$(du -s --block-size=1 "$dir/storage" | cut -f1)
  echo "storage on disk $1: $(mib "$allocated") MiB, $(awk -v a="$allocated" -v p="$payload" 'BEGIN {printf "%.2f", a/p}')× the payload"
  for f in "$dir"/storage/*; do
    printf "  %-22s %8.1f MiB allocated, %8.1f MiB apparent\n" "$(basename "$f")" \
      "$(mib "$(du -s --block-size=1 "$f" | cut -f1)")" "$(mib "$(stat -c %s "$f")")"
  done
}

start_server "$bin" "$dir" "$port"
sleep "$idle"
echo "after a restart: ${started_ms} ms to /readyz; RSS at idle (${idle} s) $(rss_mib "$server_pid") MiB (peak $(hwm_mib "$server_pid") MiB)"
disk "while running"
stop_server

echo "payload: $count × 1 KiB = $(mib "$payload") MiB; the objects as a JSON list: $(mib "$objects") MiB"
disk "once stopped"
