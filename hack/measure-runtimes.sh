#!/usr/bin/env bash
# The node's container runtime, measured both ways on this machine: rootful podman with runc
# and the cgroupfs manager (what `oxshift node` runs) against Debian's containerd driving the
# same runc through its runc v2 shim (the path its CRI plugin takes). One image
# (`FROM scratch` + busybox-static) built with buildah; N containers created, started, run to
# exit and removed one after another by each, with no network; then the memory each keeps
# beside one running container (containerd and its shim vs podman's conmon).
#
#   hack/measure-runtimes.sh            # N=20
#   N=50 hack/measure-runtimes.sh
#
# Installs containerd when it is missing (it is not one of the node's dependencies, so
# hack/setup.sh leaves it out). Everything runs from private roots under a scratch directory:
# the node's own podman storage and any system containerd are not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-20}
. hack/lib.sh

if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
  echo "installing containerd" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd >/dev/null
fi

image=localhost/oxshift-measure:latest
echo "building $image" >&2
b=$(buildah from scratch)
buildah copy "$b" /bin/busybox /bin/busybox >/dev/null
buildah config --cmd '["/bin/busybox","true"]' "$b"
buildah commit -q "$b" "$image" >/dev/null
buildah rm "$b" >/dev/null
buildah push -q "$image" "oci-archive:$work/image.tar:$image" 2>/dev/null
buildah rmi "$image" >/dev/null
at_exit+=("umount -R $work/containerd 2>/dev/null; umount -R $work/podman 2>/dev/null")

# containerd, private: its own root, state and socket; the CRI plugin off (no CNI here).
mkdir -p "$work/containerd"
cat >"$work/containerd/config.toml" <<EOF
version = 2
root = "$work/containerd/root"
state = "$work/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd/containerd.sock"
[ttrpc]
  address = "$work/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
containerd --config "$work/containerd/config.toml" >"$work/containerd.log" 2>&1 &
containerd_pid=$!
track "$containerd_pid"
ctr() { command ctr --address "$work/containerd/containerd.sock" --namespace measure "$@"; }
until ctr version >/dev/null 2>&1; do
  kill -0 "$containerd_pid" 2>/dev/null || { cat "$work/containerd.log" >&2; exit 1; }
  sleep 0.05
done
ctr images import --base-name localhost/oxshift-measure "$work/image.tar" >/dev/null
ctr_image=$(ctr images ls -q | head -1)

podman() {
  command podman --root "$work/podman/root" --runroot "$work/podman/run" --runtime runc \
    --cgroup-manager cgroupfs --events-backend none "$@"
}
podman pull -q "oci-archive:$work/image.tar" >/dev/null
podman_image=$(podman images -q | head -1)

# Milliseconds of each of N runs of "$@" (with the run's number substituted for {}).
timed() {
  local i t0 out=()
  for ((i = 1; i <= n; i++)); do
    t0=$(now_ms)
    "${@//\{\}/$i}" >/dev/null
    out+=($(($(now_ms) - t0)))
  done
  printf '%s\n' "${out[@]}" | sort -n
}
pct() { awk -v p="$1" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; print a[i]}'; }

echo "running $n containers with each" >&2
containerd_ms=$(timed ctr run --rm --runtime io.containerd.runc.v2 "$ctr_image" "m{}" /bin/busybox true)
podman_ms=$(timed podman run --rm --network none --ulimit nofile=1024:1024 \
  --ulimit nproc=1024:1024 "$podman_image" /bin/busybox true)

# Memory beside one running container: the daemon and shim (containerd), conmon (podman).
ctr run -d --runtime io.containerd.runc.v2 "$ctr_image" idle /bin/busybox sleep 60 >/dev/null
podman run -d --name idle --network none --ulimit nofile=1024:1024 \
  --ulimit nproc=1024:1024 "$podman_image" /bin/busybox sleep 60 >/dev/null
sleep 1
shim_pid=$(pgrep -f "containerd-shim-runc-v2 .*$work" | head -1 || true)
conmon_pid=$(pgrep -f "conmon .*$work" | head -1 || true)
containerd_rss=$(rss_mib "$containerd_pid")
shim_rss=$([ -n "$shim_pid" ] && rss_mib "$shim_pid" || echo "?")
conmon_rss=$([ -n "$conmon_pid" ] && rss_mib "$conmon_pid" || echo "?")
ctr task kill -s KILL idle >/dev/null 2>&1 || true
sleep 0.5
ctr task rm -f idle >/dev/null 2>&1 || true
ctr containers rm idle >/dev/null 2>&1 || true
podman rm -f -t 0 idle >/dev/null 2>&1 || true
podman rmi -a -f >/dev/null 2>&1 || true
ctr images rm "$ctr_image" >/dev/null 2>&1 || true

c50=$(pct 50 <<<"$containerd_ms") c99=$(pct 99 <<<"$containerd_ms")
p50=$(pct 50 <<<"$podman_ms") p99=$(pct 99 <<<"$podman_ms")
echo
echo "container create → start → exit → removed, $n runs each, ms (runc under both)"
echo "| runtime | p50 | p99 | memory beside one running container |"
echo "|---|---|---|---|"
echo "| containerd $(containerd --version | awk '{print $3}') (ctr, runc v2 shim) | $c50 | $c99 | containerd ${containerd_rss} MiB + shim ${shim_rss} MiB per container |"
echo "| podman $(command podman --version | awk '{print $3}') (runc, cgroupfs) | $p50 | $p99 | conmon ${conmon_rss} MiB per container, no daemon |"
awk -v c="$c50" -v p="$p50" 'BEGIN {printf "podman/containerd p50: %.2f\n", p / c}'
