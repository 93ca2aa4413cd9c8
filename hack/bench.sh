#!/usr/bin/env bash
# The API server's performance figures, against the targets of the API machinery work and the
# kube-apiserver reference measured on a machine of the same kind: cold start, idle memory,
# creates/gets/updates/lists/watch fan-out on the embedded store (oxshift-load), 10,000
# watchers, memory holding 100,000 objects, and creates on the etcd backend.
#
#   hack/bench.sh            # everything (about 5 minutes)
#   QUICK=1 hack/bench.sh    # skip the 100,000-object and 10,000-watcher runs
set -euo pipefail
cd "$(dirname "$0")/.."
hack/setup.sh >/dev/null
cargo build --release --features etcd -p oxshift -p load --bins

bin=target/release/oxshift
load=target/release/oxshift-load
. hack/lib.sh

echo "== embedded store"
dir=$work/embedded port=$(free_port)
start_server "$bin" "$dir" "$port"; first=$started_ms
stop_server
start_server "$bin" "$dir" "$port"; cold=$started_ms
sleep 2
idle=$(rss_mib "$server_pid")
echo "cold start to /readyz: first start ${first} ms (creates the PKI), restart ${cold} ms; idle RSS ${idle} MiB"
kube="--kubeconfig $dir/admin.kubeconfig --server-pid $server_pid"
$load $kube all

# Authenticated GETs with a service-account token (RBAC-evaluated) against the admin client
# certificate's (the masters group, which skips RBAC).
admin_curl() { curl -sf --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" -H 'Content-Type: application/json' "$@"; }
api=https://127.0.0.1:$port
admin_curl -X POST "$api/api/v1/namespaces/kube-system/serviceaccounts" -d '{"metadata":{"name":"bench"}}' >/dev/null
admin_curl -X POST "$api/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" \
  -d '{"metadata":{"name":"bench"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"ServiceAccount","name":"bench","namespace":"kube-system"}]}' >/dev/null
token=$(admin_curl -X POST "$api/api/v1/namespaces/kube-system/serviceaccounts/bench/token" -d '{"spec":{}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])')
echo "GET with the client certificate, then with a service-account token:"
$load $kube get --count 40000
$load $kube --token "$token" get --count 40000

# One user (bound to cluster-admin, so RBAC walks the bindings), authenticated by a client
# certificate and by an OAuth access token: the difference is what token authentication costs.
user_uid=$(admin_curl -X POST "$api/apis/user.openshift.io/v1/users" -d '{"metadata":{"name":"bench-user"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')
read -r oauth_token oauth_name < <(python3 -c '
import base64, hashlib, os
secret = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=")
name = base64.urlsafe_b64encode(hashlib.sha256(secret).digest()).rstrip(b"=")
print("sha256~" + secret.decode(), "sha256~" + name.decode())')
admin_curl -X POST "$api/apis/oauth.openshift.io/v1/oauthaccesstokens" \
  -d "{\"metadata\":{\"name\":\"$oauth_name\"},\"clientName\":\"openshift-challenging-client\",\"userName\":\"bench-user\",\"userUID\":\"$user_uid\",\"scopes\":[\"user:full\"],\"expiresIn\":86400}" >/dev/null
admin_curl -X POST "$api/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" \
  -d '{"metadata":{"name":"bench-user"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"bench-user"}]}' >/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$work/user.key" 2>/dev/null
openssl req -new -key "$work/user.key" -subj "/CN=bench-user" -out "$work/user.csr" 2>/dev/null
printf "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n" > "$work/user.ext"
openssl x509 -req -in "$work/user.csr" -CA "$dir/pki/ca.crt" -CAkey "$dir/pki/ca.key" -CAcreateserial \
  -days 1 -extfile "$work/user.ext" -out "$work/user.crt" 2>/dev/null
KUBECONFIG=$dir/admin.kubeconfig kubectl config view --raw --minify > "$work/user.kubeconfig"
KUBECONFIG=$work/user.kubeconfig kubectl config set-credentials bench-user --embed-certs \
  --client-certificate="$work/user.crt" --client-key="$work/user.key" >/dev/null
KUBECONFIG=$work/user.kubeconfig kubectl config set-context --current --user=bench-user >/dev/null
echo "GET as one user: client certificate, OAuth token, client certificate, OAuth token:"
for _ in 1 2; do
  $load --kubeconfig "$work/user.kubeconfig" --server-pid "$server_pid" get --count 40000
  $load $kube --token "$oauth_token" get --count 40000
done

objects=$(curl -s --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
  "https://127.0.0.1:$port/api/v1/configmaps" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))' 2>/dev/null || echo "?")
stop_server
start_server "$bin" "$dir" "$port"; cold=$started_ms
echo "restart holding about $objects objects: ${cold} ms to /readyz; RSS $(rss_mib "$server_pid") MiB"
kube="--kubeconfig $dir/admin.kubeconfig --server-pid $server_pid"

if [ -z "${QUICK:-}" ]; then
  $load $kube watch --watchers 10000 --events 100 --rate 10
  stop_server
  # Memory holding 100,000 objects, on a fresh store, with a watcher of the resource (so that
  # its watch cache holds them too).
  dir=$work/large port=$(free_port)
  start_server "$bin" "$dir" "$port"
  kube="--kubeconfig $dir/admin.kubeconfig --server-pid $server_pid"
  curl -sN --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
    "https://127.0.0.1:$port/api/v1/configmaps?watch=1&resourceVersion=0" >/dev/null &
  watcher=$!
  $load $kube create --count 100000 --clients 64
  sleep 3
  echo "RSS holding 100,000 objects (1 KiB each) with a watch cache of them: $(rss_mib "$server_pid") MiB"
  kill "$watcher" 2>/dev/null || true
  stop_server
  start_server "$bin" "$dir" "$port"; cold=$started_ms
  echo "restart holding 100,000 objects: ${cold} ms to /readyz; RSS $(rss_mib "$server_pid") MiB"
fi
stop_server

echo "== etcd backend"
etcd_dir=$work/etcd-data
client_port=$(free_port) peer_port=$(free_port)
etcd --name bench --data-dir "$etcd_dir" \
  --listen-client-urls "http://127.0.0.1:$client_port" --advertise-client-urls "http://127.0.0.1:$client_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "bench=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
track $!
until curl -sf "http://127.0.0.1:$client_port/health" >/dev/null 2>&1; do sleep 0.05; done
dir=$work/on-etcd port=$(free_port)
start_server "$bin" "$dir" "$port" --storage etcd --etcd-servers "http://127.0.0.1:$client_port"; cold=$started_ms
echo "cold start to /readyz on etcd: ${cold} ms"
kube="--kubeconfig $dir/admin.kubeconfig --server-pid $server_pid"
$load $kube create --count 20000 --clients 64
echo "(kube-apiserver on the same kind of machine and etcd: ~1,300 creates/s; target >= 3x)"
