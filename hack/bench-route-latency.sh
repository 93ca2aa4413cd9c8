#!/usr/bin/env bash
# New-route latency: with N routes already served (10,000 by default), how long from a new
# route's creation (its create answered by the API server) to the first 200 through the
# router for its host, over SAMPLES new routes; prints p50, p99 and the maximum.
#
# Usage: hack/bench-route-latency.sh   (BIN: the directory of the oxshift binary, default
# $CARGO_TARGET_DIR/release or target/release; ROUTES, SAMPLES)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-${CARGO_TARGET_DIR:-$root/target}/release}"
oxshift="$bin/oxshift"
routes="${ROUTES:-10000}"
samples="${SAMPLES:-50}"
for tool in "$oxshift" kubectl python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench-route-latency: $tool is missing" >&2; exit 1; }
done

cd "$root"
. hack/lib.sh

domain=apps.oxshift.local
http=127.0.0.1:$(free_port) https=127.0.0.1:$(free_port) stats=127.0.0.1:$(free_port) backend=127.0.0.1:$(free_port)

mkdir -p "$work/www" && echo ok >"$work/www/index.html"
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "${backend#*:}" \
  >/dev/null 2>&1 &
track $!

start_server "$oxshift" "$work/data" "$(free_port)" --node=false --controllers=false \
  --router-http "$http" --router-https "$https" --router-stats "$stats"
export KUBECONFIG="$work/data/admin.kubeconfig"

kubectl create namespace bench >/dev/null
{
  echo '{"apiVersion":"v1","kind":"Service","metadata":{"name":"be","namespace":"bench"},"spec":{"ports":[{"name":"http","port":80}]}}'
  printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"be-a","namespace":"bench","labels":{"kubernetes.io/service-name":"be"}},"addressType":"IPv4","ports":[{"name":"http","port":%s,"protocol":"TCP"}],"endpoints":[{"addresses":["127.0.0.1"],"conditions":{"ready":true}}]}\n' "${backend#*:}"
} | kubectl create -f - >/dev/null

route() { # name
  printf '{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"%s","namespace":"bench"},"spec":{"host":"%s-bench.%s","to":{"kind":"Service","name":"be"},"port":{"targetPort":"http"}}}\n' "$1" "$1" "$domain"
}
echo "creating $routes routes..." >&2
for ((i = 1; i <= routes; i++)); do route "r$i"; done >"$work/routes.json"
kubectl create -f "$work/routes.json" >/dev/null
for _ in $(seq 1500); do
  have="$(curl -s "http://$stats/metrics" | awk '/^router_routes /{print $2}')"
  [ "$have" = "$routes" ] && break
  sleep 0.2
done
[ "$have" = "$routes" ] || { echo "bench-route-latency: the router serves $have routes" >&2; exit 1; }
# Let the router write the statuses of the routes loaded, so they do not weigh on the samples.
sleep 20

python3 - "$samples" "$http" "$domain" <<'EOF'
import json, subprocess, sys, time, http.client
samples, http_at, domain = int(sys.argv[1]), sys.argv[2], sys.argv[3]
host, port = http_at.split(":")
def status(name):
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        c.request("GET", "/", headers={"Host": f"{name}-bench.{domain}"})
        return c.getresponse().status
    finally:
        c.close()
took = []
for i in range(samples):
    name = f"new{i}"
    route = {"apiVersion": "route.openshift.io/v1", "kind": "Route",
             "metadata": {"name": name, "namespace": "bench"},
             "spec": {"host": f"{name}-bench.{domain}", "to": {"kind": "Service", "name": "be"},
                      "port": {"targetPort": "http"}}}
    subprocess.run(["kubectl", "create", "-f", "-"], input=json.dumps(route).encode(),
                   check=True, stdout=subprocess.DEVNULL)
    start = time.monotonic()
    while status(name) != 200:
        if time.monotonic() - start > 30:
            sys.exit(f"{name} not served within 30 s")
        time.sleep(0.002)
    took.append((time.monotonic() - start) * 1000)
    time.sleep(0.2)
took.sort()
pick = lambda q: took[min(len(took) - 1, int(q * len(took)))]
print(f"new route -> first 200: n={len(took)} "
      f"p50={pick(0.5):.1f} ms p99={pick(0.99):.1f} ms max={took[-1]:.1f} ms")
EOF
