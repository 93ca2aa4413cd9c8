#!/usr/bin/env bash
# The container runtime measured both ways on this machine: N container create+start+exit with
# Debian's containerd (`ctr run`, runc v2 shim) against podman (runc, cgroupfs, the node's
# ulimits), both from the same `FROM scratch` + busybox-static image; p50/p99 and their ratio,
# and the memory each keeps per running container (containerd's shim, podman's conmon) and
# containerd's own idle daemon. Everything runs with no network and under a temporary directory
# that is removed at the end, daemons and mounts included.
#
#   hack/measure-runtimes.sh [N]      (root; N defaults to 20)
set -euo pipefail

N=${1:-20}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
  apt-get install -y containerd >/dev/null
fi

TMP=$(mktemp -d /tmp/measure-runtimes.XXXXXX)
SOCK=$TMP/containerd.sock
NS=measure
IMAGE=localhost/measure-busybox:latest
CONTAINERD_PID=
STORE=(--root "$TMP/podman-root" --runroot "$TMP/podman-run")
PODMAN=(podman "${STORE[@]}" --tmpdir "$TMP/podman-tmp" --runtime runc --cgroup-manager cgroupfs
  --events-backend file)
CTR=(ctr --address "$SOCK" --namespace "$NS")

cleanup() {
  set +e
  "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
  "${PODMAN[@]}" system reset -f >/dev/null 2>&1
  if [ -n "$CONTAINERD_PID" ]; then
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks kill -s KILL "$t"; done
    sleep 1
    for t in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks rm -f "$t"; done
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do "${CTR[@]}" containers rm "$c"; done
    kill "$CONTAINERD_PID"; wait "$CONTAINERD_PID" 2>/dev/null
  fi
  buildah "${STORE[@]}" rm -a >/dev/null 2>&1
  buildah "${STORE[@]}" rmi -af >/dev/null 2>&1
  # Whatever is still mounted under the directory (overlay layers, shm), deepest first.
  awk -v d="$TMP" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$TMP"
}
trap cleanup EXIT

# The image: busybox-static alone, built once, in podman's store and imported into containerd.
ctr_id=$(buildah "${STORE[@]}" from scratch)
buildah "${STORE[@]}" copy "$ctr_id" "$(command -v busybox)" /bin/busybox >/dev/null
buildah "${STORE[@]}" commit -q "$ctr_id" "$IMAGE" >/dev/null
buildah "${STORE[@]}" push -q "$IMAGE" "oci-archive:$TMP/image.tar:$IMAGE"

cat >"$TMP/containerd.toml" <<TOML
version = 2
root = "$TMP/containerd-root"
state = "$TMP/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
TOML
containerd --config "$TMP/containerd.toml" >"$TMP/containerd.log" 2>&1 &
CONTAINERD_PID=$!
for _ in $(seq 100); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${CTR[@]}" images import --base-name localhost/measure-busybox "$TMP/image.tar" >/dev/null
CTR_IMAGE=$("${CTR[@]}" images ls -q | head -n1)

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Prints the N durations (ms) of `run_one i`, one a line.
timed() {
  local i start
  for i in $(seq "$N"); do
    start=$(now_ms)
    "$@" "$i" >/dev/null
    echo $(($(now_ms) - start))
  done
}

ctr_one() {
  "${CTR[@]}" run --rm --null-io --runtime io.containerd.runc.v2 "$CTR_IMAGE" "m$1" /bin/busybox true
}
podman_one() {
  "${PODMAN[@]}" run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    "$IMAGE" /bin/busybox true
}

# p50 and p99 (nearest rank) of the numbers on stdin.
percentiles() {
  sort -n | awk '{v[NR]=$1} END {
    p50=int((NR*50+99)/100); p99=int((NR*99+99)/100);
    printf "%d %d\n", v[p50], v[p99] }'
}

ctr_one 0 >/dev/null   # warm both once
podman_one 0 >/dev/null
read -r c50 c99 < <(timed ctr_one | percentiles)
read -r p50 p99 < <(timed podman_one | percentiles)

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
daemon_rss=$(rss_kib "$CONTAINERD_PID")
"${CTR[@]}" run -d --null-io --runtime io.containerd.runc.v2 "$CTR_IMAGE" idle /bin/busybox sleep 60 >/dev/null
sleep 1
shim_pid=$(pgrep -f -- "-namespace $NS -id idle" | head -n1)
shim_rss=$(rss_kib "$shim_pid")
pod_id=$("${PODMAN[@]}" run -d --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
  "$IMAGE" /bin/busybox sleep 60)
sleep 1
conmon_rss=$(rss_kib "$("${PODMAN[@]}" inspect --format '{{.State.ConmonPid}}' "$pod_id")")

echo "container create+start+exit, $N runs each ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo "  containerd (ctr run, runc v2 shim):  p50 ${c50} ms  p99 ${c99} ms"
echo "  podman (runc, cgroupfs):             p50 ${p50} ms  p99 ${p99} ms"
awk -v c="$c50" -v p="$p50" 'BEGIN { printf "  podman/containerd p50 ratio:         %.2f\n", p / c }'
echo "resident memory"
echo "  containerd daemon, idle:             ${daemon_rss} KiB"
echo "  containerd shim per container:       ${shim_rss} KiB"
echo "  podman conmon per container:         ${conmon_rss} KiB (no daemon)"
