#!/usr/bin/env bash
# Workload figures of the node and scheduler work, each on a fresh release server:
#   1. the scheduler's bindings/s: 100 ready Nodes (no agent), 5,000 pods created at once
#      (oxshift-load scheduling), from the first create to the last binding;
#   2. simulated scale: 100 simulated nodes (`oxshift node --runtime simulated --count 100`)
#      and one Deployment of 10,000 replicas, from its creation until all are ready;
#   3. real containers (as root, with podman): pods created one after another on the
#      all-in-one's podman node from an image built here (scratch + busybox-static) and pulled
#      from a registry on loopback; create → Running as kubectl sees it (its process start
#      included), p50/p99 over RUNS pods.
#
#   hack/bench-workloads.sh                     # all three
#   ONLY=sched|sim|real hack/bench-workloads.sh
#   PODS=5000 REPLICAS=10000 RUNS=30 hack/bench-workloads.sh
#   BIN=/path/to/release hack/bench-workloads.sh   # binaries built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
only=${ONLY:-}
pods=${PODS:-5000}
replicas=${REPLICAS:-10000}
runs=${RUNS:-30}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift -p load --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
bin=$BIN/oxshift
load=$BIN/oxshift-load

. hack/lib.sh
# The real-container run's pods, removed before the scratch directory.
podman_dir=$work/real/node/podman
at_exit+=("[ ! -d '$podman_dir' ] || podman --root '$podman_dir/root' --runroot '$podman_dir/run' \
  --tmpdir '$podman_dir/tmp' --runtime runc --cgroup-manager cgroupfs --events-backend file \
  rm --all --force --time 0 >/dev/null 2>&1")

# Starts `oxshift start` in $work/$1 with the rest as arguments; sets $server_pid and $kc.
server_in() {
  local dir=$work/$1
  shift
  start_server "$bin" "$dir" "$(free_port)" "$@"
  kc=$dir/admin.kubeconfig
}

# The p-th percentile (nearest rank) of the numbers in file $1.
percentile() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int((p*NR+99)/100); if (i<1) i=1; print a[i]}'; }

if [ -z "$only" ] || [ "$only" = sched ]; then
  echo "== scheduler: 100 nodes, $pods pods"
  server_in sched --node=false
  "$load" --kubeconfig "$kc" --server-pid "$server_pid" scheduling --nodes 100 --pods "$pods"
  stop_server
fi

if [ -z "$only" ] || [ "$only" = sim ]; then
  echo "== simulated: 100 nodes, a Deployment of $replicas replicas"
  server_in sim --node=false
  "$bin" node --kubeconfig "$kc" --data-dir "$work/sim-nodes" --runtime simulated --count 100 \
    --name-prefix sim- --port 0 --pod-cidr 10.129.0.0/23 >>"$work/sim-nodes.log" 2>&1 &
  track "$!"
  until [ "$(kubectl --kubeconfig "$kc" get nodes -o name 2>/dev/null | wc -l)" -ge 100 ]; do sleep 0.2; done
  kubectl --kubeconfig "$kc" wait --for=condition=Ready nodes --all --timeout=120s >/dev/null
  kubectl --kubeconfig "$kc" create namespace big >/dev/null
  t0=$(now_ms)
  kubectl --kubeconfig "$kc" -n big create deployment big --image=registry.invalid/app:1 \
    --replicas="$replicas" >/dev/null
  kubectl --kubeconfig "$kc" -n big wait deployment/big --timeout=900s \
    --for=jsonpath='{.status.readyReplicas}'="$replicas" >/dev/null
  t1=$(now_ms)
  rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$server_pid/status")
  echo "deployment of $replicas replicas on 100 simulated nodes: all ready in $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s; server RSS ${rss} MiB"
  stop_server
fi

if [ -z "$only" ] || [ "$only" = real ]; then
  if [ "$(id -u)" != 0 ] || ! command -v podman >/dev/null || ! command -v buildah >/dev/null; then
    echo "== real containers: skipped (needs root, podman and buildah: hack/setup.sh)"
  else
    echo "== real containers: $runs pods, one after another"
    rport=$(free_port)
    mkdir -p "$work/registry"
    printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
      "$work/registry" "$rport" > "$work/registry.yml"
    docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    track "$!"
    until curl -sf "http://127.0.0.1:$rport/v2/" >/dev/null; do sleep 0.05; done
    image=127.0.0.1:$rport/web:1
    b=(buildah --root "$work/buildah/root" --runroot "$work/buildah/run")
    ctr=$("${b[@]}" from scratch)
    "${b[@]}" copy "$ctr" /bin/busybox /bin/busybox >/dev/null
    "${b[@]}" config --cmd '["/bin/busybox","httpd","-f","-p","8080"]' "$ctr"
    "${b[@]}" commit --quiet "$ctr" web:1 >/dev/null
    "${b[@]}" push --quiet --tls-verify=false web:1 "docker://$image"
    server_in real --node-runtime podman --node-name bench --node-port 0 \
      --node-pod-cidr 10.130.0.0/23
    printf 'apiVersion: config.openshift.io/v1\nkind: Image\nmetadata:\n  name: cluster\nspec:\n  registrySources:\n    insecureRegistries: ["127.0.0.1:%s"]\n' \
      "$rport" | kubectl --kubeconfig "$kc" apply -f - >/dev/null
    kubectl --kubeconfig "$kc" wait --for=condition=Ready node/bench --timeout=60s >/dev/null
    kubectl --kubeconfig "$kc" create namespace real >/dev/null
    : > "$work/startup.ms"
    for i in $(seq 0 "$runs"); do
      t0=$(now_ms)
      kubectl --kubeconfig "$kc" -n real run "p$i" --image="$image" --restart=Never >/dev/null
      kubectl --kubeconfig "$kc" -n real wait "pod/p$i" --for=jsonpath='{.status.phase}'=Running \
        --timeout=60s >/dev/null
      t1=$(now_ms)
      # The first pod pulls the image; the figure is of pods whose image is present.
      [ "$i" = 0 ] && { echo "first pod (image pulled): $(( t1 - t0 )) ms"; continue; }
      echo $(( t1 - t0 )) >> "$work/startup.ms"
    done
    echo "pod create -> Running, $runs pods, image present: p50 $(percentile "$work/startup.ms" 50) ms, p99 $(percentile "$work/startup.ms" 99) ms, max $(sort -n "$work/startup.ms" | tail -1) ms"
    kubectl --kubeconfig "$kc" delete namespace real --wait=true --timeout=120s >/dev/null || true
    stop_server
  fi
fi
