#!/usr/bin/env bash
# Commit → new pods answering: on a fresh all-in-one server (a node running real containers
# with podman, the integrated registry, the router), a Git repository whose Dockerfile serves
# a page (FROM scratch + a static busybox), a BuildConfig with a generic webhook, an image
# stream and a Deployment following its tag (`image.openshift.io/triggers`) behind a route.
# Each round commits a new page, calls the webhook with the commit, and waits until the
# route serves the new page: the time from the webhook call to the first answer with it,
# p50 and max over the rounds, split at the build's completion, printed with the build's own
# duration (the Build's `status.duration`, pod start → image pushed, in whole seconds as
# upstream's timestamps are) as the reference.
#
#   hack/bench-commit-to-pods.sh [ROUNDS]        (default 5)
#   BIN=/path/to/binaries hack/bench-commit-to-pods.sh    # built elsewhere (debug or release)
#
# Needs root, podman/runc, buildah, git and busybox-static (hack/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
busybox=$(command -v busybox-static || echo /bin/busybox)
file "$busybox" 2>/dev/null | grep -q "statically linked" || {
  echo "a static busybox is needed (busybox-static)" >&2
  exit 1
}

. hack/lib.sh

# What the node's pods leave behind once the server stops: containers and netns.
cleanup_node() {
  local podman=$work/data/node/podman
  [ -d "$podman" ] || return 0
  local p=(podman --root "$podman/root" --runroot "$podman/run" --tmpdir "$podman/tmp"
    --runtime runc --cgroup-manager cgroupfs --events-backend file)
  "${p[@]}" rm --all --force --time 0 >/dev/null 2>&1 || true
  "${p[@]}" unmount --all >/dev/null 2>&1 || true
  local f uid
  for f in "$work"/data/node/ipam/*; do
    [ -f "$f" ] || continue
    uid=$(tr -cd '0-9a-f' <"$f" | cut -c1-12)
    ip netns del "oxshift-$uid" 2>/dev/null || true
  done
}
at_exit+=(cleanup_node)

router=127.0.0.1:$(free_port)
start_server "$BIN/oxshift" "$work/data" "$(free_port)" \
  --node-runtime podman --node-name bench --node-port 0 --node-pod-cidr 10.131.246.0/23 \
  --registry=true --router=true --router-http "$router" --router-https "127.0.0.1:$(free_port)"
export KUBECONFIG=$work/data/admin.kubeconfig
until kubectl get node bench -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null |
  grep -q True; do
  sleep 0.2
done
kubectl create namespace bench >/dev/null
until kubectl -n bench get sa builder -o jsonpath='{.metadata.annotations.openshift\.io/internal-registry-pull-secret-ref}' 2>/dev/null | grep -q .; do
  sleep 0.2
done

repo=$work/repo
git init --quiet --initial-branch=main "$repo"
cp "$busybox" "$repo/busybox"
cat >"$repo/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
COPY index.html /srv/index.html
EXPOSE 8080
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/srv"]
EOF
commit() { # commit PAGE: the new commit
  echo "$1" >"$repo/index.html"
  git -C "$repo" add . >/dev/null
  git -C "$repo" -c user.name=Bench -c user.email=bench@example.com commit --quiet -m "$1"
  git -C "$repo" rev-parse HEAD
}

kubectl apply -f - >/dev/null <<YAML
apiVersion: image.openshift.io/v1
kind: ImageStream
metadata: {name: web, namespace: bench}
---
apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata: {name: web, namespace: bench}
spec:
  source: {git: {uri: "file://$repo", ref: main}}
  strategy: {dockerStrategy: {}}
  output: {to: {kind: ImageStreamTag, name: "web:latest"}}
  triggers: [{type: Generic, generic: {secret: bench-secret}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: bench}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: 8080}]
---
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: web, namespace: bench}
spec:
  host: web.bench.test
  to: {kind: Service, name: web}
YAML

api=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
hook=$api/apis/build.openshift.io/v1/namespaces/bench/buildconfigs/web/webhooks/bench-secret/generic
ca=$work/data/pki/ca.crt
call_hook() { # call_hook COMMIT: the Build's name
  curl -sf --cacert "$ca" -X POST -H 'Content-Type: application/json' \
    --data "{\"git\":{\"ref\":\"refs/heads/main\",\"commit\":\"$1\"}}" "$hook" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["name"])'
}
build_phase() { kubectl -n bench get build "$1" -o jsonpath='{.status.phase}'; }
wait_build() { # wait_build NAME: fails unless it completes
  local phase
  while :; do
    phase=$(build_phase "$1")
    case $phase in
    Complete) return 0 ;;
    Failed | Error | Cancelled)
      kubectl -n bench logs "build/$1" >&2 || true
      echo "build $1: $phase" >&2
      exit 1
      ;;
    esac
    sleep 0.05
  done
}
page() { curl -s -m 2 -H 'Host: web.bench.test' "http://$router/" 2>/dev/null || true; }

# Round 0 (not measured): the first image, then the Deployment that follows the tag.
wait_build "$(call_hook "$(commit 'round 0')")"
image=$(kubectl -n bench get istag web:latest -o jsonpath='{.image.dockerImageReference}')
kubectl apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: bench
  annotations:
    image.openshift.io/triggers: '[{"from":{"kind":"ImageStreamTag","name":"web:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]'
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: $image
        ports: [{containerPort: 8080}]
YAML
deadline=$(($(now_ms) + 180000))
until [ "$(page)" = "round 0" ]; do
  [ "$(now_ms)" -lt "$deadline" ] || { echo "round 0 never served" >&2; exit 1; }
  sleep 0.1
done

echo "== commit -> new pods answering: $rounds rounds (server: $BIN/oxshift)"
: >"$work/rounds"
for i in $(seq "$rounds"); do
  sha=$(commit "round $i")
  t0=$(now_ms)
  name=$(call_hook "$sha")
  wait_build "$name"
  t_built=$(now_ms)
  deadline=$((t0 + 300000))
  until [ "$(page)" = "round $i" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || { echo "round $i never served" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(now_ms)
  build_ms=$(kubectl -n bench get build "$name" -o jsonpath='{.status.duration}' |
    python3 -c 'import sys; print(int(sys.stdin.read() or 0) // 1000000)')
  echo "$((t1 - t0)) $build_ms $((t_built - t0)) $((t1 - t_built))" >>"$work/rounds"
  echo "round $i ($name): commit -> new page $((t1 - t0)) ms; build $build_ms ms; webhook -> Complete seen $((t_built - t0)) ms; Complete -> new page $((t1 - t_built)) ms"
done
python3 - "$work/rounds" <<'PY'
import statistics, sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1])]
def line(label, column):
    xs = [r[column] for r in rows]
    print(f"{label}: p50 {statistics.median(xs)/1000:.2f} s, max {max(xs)/1000:.2f} s")
line("commit+webhook -> new pods answering", 0)
line("  of which webhook -> build Complete (seen)", 2)
line("  of which Complete -> new pod answering", 3)
line("reference, the Build's own status.duration (whole seconds)", 1)
total = statistics.median(r[0] for r in rows)
build = statistics.median(r[1] for r in rows)
print(f"ratio commit->answering / build duration, p50: {total/max(build,1):.2f}")
PY
