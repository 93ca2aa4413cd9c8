#!/usr/bin/env bash
# oc's latency against a local `oxshift start`, with kubectl's as the reference measured in the
# same run: the binary's start (`oc --help`) and `oc get` of one object (discovery cached on
# disk after the first call, as kubectl caches it).
#
#   hack/bench-oc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p oxshift -p cli --bins
. hack/lib.sh
start_server target/release/oxshift "$work/data" "$(free_port)"
export KUBECONFIG=$work/data/admin.kubeconfig HOME=$work/home
mkdir -p "$HOME"
kubectl create configmap bench >/dev/null
python3 - "$PWD/target/release/oc" <<'PY'
import subprocess, sys, time
oc = sys.argv[1]
def timed(args, n=40):
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm caches
    runs = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    return runs[len(runs) // 2], runs[int(len(runs) * 0.9)]
start = timed([oc, "--help"])
ours = timed([oc, "get", "configmap", "bench"])
theirs = timed(["kubectl", "get", "configmap", "bench"])
print(f"oc start (--help): p50 {start[0]:.1f} ms, p90 {start[1]:.1f} ms (target <= 10 ms)")
print(f"oc get configmap: p50 {ours[0]:.1f} ms, p90 {ours[1]:.1f} ms (target <= 50 ms)")
print(f"kubectl get configmap: p50 {theirs[0]:.1f} ms, p90 {theirs[1]:.1f} ms; oc is {theirs[0] / ours[0]:.1f}x faster")
PY
