#!/usr/bin/env bash
# What the integrated registry's front costs: ROUNDS (5) pushes and pulls of a SIZE_MIB (50)
# MiB image with skopeo, through the front (the advertised port: bodies streamed to
# docker-registry, pulls also asking for signatures through the extension) and straight to
# docker-registry's internal port, alternating, each push of a new image into a repository
# of its own (no blob is ever already there). Prints the medians and the ratio front / direct.
#
#   hack/bench-registry-front.sh
#   ROUNDS=9 SIZE_MIB=50 hack/bench-registry-front.sh
#   BIN=/path/to/binaries hack/bench-registry-front.sh   # oxshift and oc built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
size_mib=${SIZE_MIB:-50}
if [ -z "${BIN:-}" ]; then
  cargo build --release -p oxshift -p cli --bins
  BIN=${CARGO_TARGET_DIR:-target}/release
fi
. hack/lib.sh

start_server "$BIN/oxshift" "$work/data" "$(free_port)" --node=false --router=false --registry=true
kc=(--kubeconfig "$work/data/admin.kubeconfig")
until front=$("$BIN/oc" "${kc[@]}" get images.config.openshift.io cluster \
  -o 'jsonpath={.status.internalRegistryHostname}' 2>/dev/null) && [ -n "$front" ]; do
  sleep 0.1
done
direct=$(awk '/^  addr:/ {print $2}' "$work/data/registry/config.yml")
"$BIN/oc" "${kc[@]}" create -f - >/dev/null <<'JSON'
{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}},
  {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "pusher", "namespace": "bench"}},
  {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
   "metadata": {"name": "pusher-admin", "namespace": "bench"},
   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
   "subjects": [{"kind": "ServiceAccount", "name": "pusher", "namespace": "bench"}]}]}
JSON
token=$("$BIN/oc" "${kc[@]}" create token pusher -n bench --duration=1h)
creds="pusher:$token"

# make_layout DIR: an OCI layout of one image whose layer is SIZE_MIB MiB of fresh random
# bytes, gzipped (so no push spends time compressing it, and no push finds its blob already
# in the registry to mount).
make_layout() {
  local layout=$1 diff_id layer layer_size config config_size manifest manifest_size
  mkdir -p "$layout/blobs/sha256"
  head -c "$((size_mib << 20))" /dev/urandom >"$work/layer.tar"
  diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  gzip -1 -c "$work/layer.tar" >"$work/layer.tar.gz"
  rm -f "$work/layer.tar"
  put() { # file -> "digest size", the file stored as a blob
    local d s
    d=$(sha256sum "$1" | cut -d' ' -f1)
    s=$(stat -c %s "$1")
    mv "$1" "$layout/blobs/sha256/$d"
    echo "$d $s"
  }
  read -r layer layer_size < <(put "$work/layer.tar.gz")
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$diff_id" >"$work/config.json"
  read -r config config_size < <(put "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
  read -r manifest manifest_size < <(put "$work/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
    "$manifest" "$manifest_size" >"$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
}

mkdir -p "$work/registries.d"
sk=(skopeo --insecure-policy --registries.d "$work/registries.d")
timed() { # command... -> milliseconds it took
  local t0
  t0=$(now_ms)
  "$@" >/dev/null
  echo $(($(now_ms) - t0))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: >"$work/front-push" && : >"$work/direct-push" && : >"$work/front-pull" && : >"$work/direct-pull"
for i in $(seq 1 "$rounds"); do
  for via in front direct; do
    host=${!via}
    rm -rf "$work/layout"
    make_layout "$work/layout"
    timed "${sk[@]}" copy --dest-tls-verify=false --dest-creds "$creds" \
      "oci:$work/layout" "docker://$host/bench/$via-$i:latest" >>"$work/$via-push"
    rm -rf "$work/pulled"
    timed "${sk[@]}" copy --src-tls-verify=false --src-creds "$creds" \
      "docker://$host/bench/$via-$i:latest" "dir:$work/pulled" >>"$work/$via-pull"
  done
done

for op in push pull; do
  f=$(median <"$work/front-$op")
  d=$(median <"$work/direct-$op")
  printf 'registry %s of %s MiB (median of %s): front %s ms, direct %s ms, ratio %s\n' \
    "$op" "$size_mib" "$rounds" "$f" "$d" "$(awk -v f="$f" -v d="$d" 'BEGIN {printf "%.2f", f / d}')"
done
