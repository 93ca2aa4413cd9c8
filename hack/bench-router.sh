#!/usr/bin/env bash
# The router against HAProxy 2.6 on the same routes and backends, in one run: requests per
# second and p50/p99 for plain HTTP over kept-alive connections, edge TLS with a full handshake
# per request, and passthrough (a full handshake with the backend per request), with 1 and with
# 1,000 routes of each kind; then the router's RSS with 10,000 routes.
#
# HAProxy is configured as OpenShift's router template configures it (regular-expression maps,
# TLS through the loopback hop to fe_sni with the PROXY protocol, cookies, forwarded headers).
# HAProxy's maxconn is 4000 (the file limit here allows no more; the load opens at most 64).
# Both routers run one thread pinned to CPU 1 (the router: ROUTER_THREADS=1); the load,
# the backends and the API server share CPU 0. TLS: one RSA-2048 certificate for
# *.apps.oxshift.local on both, no session tickets or cache.
#
# Each case is measured ROUNDS times per proxy, alternated (router, HAProxy, router, HAProxy,
# ...): every run is printed, then each side's medians (rps, p50, p99 taken separately) and the
# ratios of the medians.
#
# Usage: hack/bench-router.sh   (needs release binaries: cargo build --release -p oxshift -p load)
# Environment: BIN (default $CARGO_TARGET_DIR/release or target/release), SECONDS_EACH (8 s per
# run), ROUNDS (3), CASES (default "1-http 1-edge-tls 1-passthrough 1000-http 1000-edge-tls
# 1000-passthrough rss"; e.g. CASES=1-http for the plain HTTP case with one route alone).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BIN:-${CARGO_TARGET_DIR:-$root/target}/release}"
oxshift="$bin/oxshift"
load="$bin/oxshift-load"
seconds="${SECONDS_EACH:-8}"
rounds="${ROUNDS:-3}"
cases="${CASES:-1-http 1-edge-tls 1-passthrough 1000-http 1000-edge-tls 1000-passthrough rss}"
wanted() { case " $cases " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for tool in "$oxshift" "$load" haproxy kubectl openssl taskset; do
  command -v "$tool" >/dev/null || { echo "bench-router: $tool is missing" >&2; exit 1; }
done

. "$root/hack/lib.sh"

domain=apps.oxshift.local
router_http=127.0.0.1:$(free_port) router_https=127.0.0.1:$(free_port) router_stats=127.0.0.1:$(free_port)
haproxy_http=127.0.0.1:$(free_port) haproxy_https=127.0.0.1:$(free_port)
backends=(127.0.0.1:$(free_port) 127.0.0.1:$(free_port)) tls_backend=127.0.0.1:$(free_port)

# One certificate for every name (signed by a CA of the run), as the default and as each edge
# route's own; the passthrough backend serves it too.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench-ca" \
  -keyout "$work/ca-key.pem" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=*.$domain" -keyout "$work/key.pem" \
  -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:*.%s\nbasicConstraints=CA:FALSE\n' "$domain" >"$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" \
  -CAcreateserial -days 2 -extfile "$work/leaf.ext" -out "$work/cert.pem" 2>/dev/null
cat "$work/cert.pem" "$work/key.pem" >"$work/combined.pem"

taskset -c 0 "$load" backend --listen "${backends[0]}" --listen "${backends[1]}" \
  --tls "$tls_backend" --cert "$work/cert.pem" --key "$work/key.pem" &
track $!

taskset -c 0 "$oxshift" start --data-dir "$work/data" --listen 127.0.0.1:0 \
  --listen-address-file "$work/api-address" --router=false --node=false --controllers=false \
  >"$work/api.log" 2>&1 &
track $!
for _ in $(seq 100); do [ -s "$work/api-address" ] && break; sleep 0.2; done
export KUBECONFIG="$work/data/admin.kubeconfig"
for _ in $(seq 100); do kubectl get --raw /readyz >/dev/null 2>&1 && break; sleep 0.2; done

# The services: `be` on the two HTTP backends, `tls` on the TLS one (selector-less, with
# their endpoint slices written here).
kubectl create namespace bench >/dev/null
slice() { # name service port-name address:port
  printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s","namespace":"bench","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","ports":[{"name":"%s","port":%s,"protocol":"TCP"}],"endpoints":[{"addresses":["%s"],"conditions":{"ready":true}}]}\n' \
    "$1" "$2" "$3" "${4#*:}" "${4%:*}"
}
{
  echo '{"apiVersion":"v1","kind":"Service","metadata":{"name":"be","namespace":"bench"},"spec":{"ports":[{"name":"http","port":80}]}}'
  echo '{"apiVersion":"v1","kind":"Service","metadata":{"name":"tls","namespace":"bench"},"spec":{"ports":[{"name":"https","port":443}]}}'
  slice be-a be http "${backends[0]}"
  slice be-b be http "${backends[1]}"
  slice tls-a tls https "$tls_backend"
} >"$work/services.json"
kubectl create -f "$work/services.json" >/dev/null

cert_json="$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$work/cert.pem")"
key_json="$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$work/key.pem")"

# Routes r<i> (plain), e<i> (edge, own certificate) and p<i> (passthrough) for i in [from, to].
routes() {
  local from=$1 to=$2 kinds=$3 i
  for ((i = from; i <= to; i++)); do
    case "$kinds" in *r*)
      printf '{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"r%d","namespace":"bench"},"spec":{"host":"r%d-bench.%s","to":{"kind":"Service","name":"be"},"port":{"targetPort":"http"}}}\n' "$i" "$i" "$domain" ;;
    esac
    case "$kinds" in *e*)
      printf '{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"e%d","namespace":"bench"},"spec":{"host":"e%d-bench.%s","to":{"kind":"Service","name":"be"},"port":{"targetPort":"http"},"tls":{"termination":"edge","certificate":%s,"key":%s}}}\n' "$i" "$i" "$domain" "$cert_json" "$key_json" ;;
    esac
    case "$kinds" in *p*)
      printf '{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"p%d","namespace":"bench"},"spec":{"host":"p%d-bench.%s","to":{"kind":"Service","name":"tls"},"port":{"targetPort":"https"},"tls":{"termination":"passthrough"}}}\n' "$i" "$i" "$domain" ;;
    esac
  done
}

# Waits until the router serves `want` routes.
router_routes() { curl -s "http://$router_stats/metrics" | awk '/^router_routes /{print $2}'; }
wait_routes() {
  local want=$1
  for _ in $(seq 600); do [ "$(router_routes)" = "$want" ] && return 0; sleep 0.2; done
  echo "bench-router: the router did not reach $want routes (has $(router_routes))" >&2
  exit 1
}

# Waits until `want` routes carry the router's status (so that no status is written while
# measuring).
wait_admitted() {
  local want=$1 have
  for _ in $(seq 600); do
    have="$(kubectl get routes -n bench -o jsonpath='{range .items[*]}{.status.ingress[0].conditions[0].status}{"\n"}{end}' | grep -c True || true)"
    [ "$have" = "$want" ] && return 0
    sleep 1
  done
  echo "bench-router: $want routes not admitted (have $have)" >&2
  exit 1
}

ROUTER_THREADS="${ROUTER_THREADS:-1}" taskset -c 1 "$oxshift" router --kubeconfig "$work/data/router.kubeconfig" \
  --http "$router_http" --https "$router_https" --stats "$router_stats" >"$work/router.log" 2>&1 &
router_pid=$!
track "$router_pid"

# HAProxy's configuration for routes 1..n, as OpenShift's template writes it.
haproxy_config() {
  local n=$1 dir="$work/haproxy" i
  mkdir -p "$dir"
  : >"$dir/os_http_be.map"; : >"$dir/os_edge_reencrypt_be.map"
  : >"$dir/os_sni_passthrough.map"; : >"$dir/os_tcp_be.map"; : >"$dir/os_route_http_redirect.map"
  : >"$dir/cert_config.map"
  local q="${domain//./\\.}"
  for ((i = 1; i <= n; i++)); do
    echo "^r$i-bench\\.$q\\.?(:[0-9]+)?(/.*)?\$ be_http:bench:r$i" >>"$dir/os_http_be.map"
    echo "^e$i-bench\\.$q\\.?(:[0-9]+)?(/.*)?\$ be_edge_http:bench:e$i" >>"$dir/os_edge_reencrypt_be.map"
    echo "^p$i-bench\\.$q\$ 1" >>"$dir/os_sni_passthrough.map"
    echo "^p$i-bench\\.$q\\.?(:[0-9]+)?(/.*)?\$ be_tcp:bench:p$i" >>"$dir/os_tcp_be.map"
    echo "$work/combined.pem e$i-bench.$domain" >>"$dir/cert_config.map"
  done
  for f in os_http_be os_edge_reencrypt_be os_sni_passthrough os_tcp_be; do
    sort -r "$dir/$f.map" -o "$dir/$f.map"
  done
  {
    cat <<EOF
global
  nbthread 1
  maxconn 4000
  tune.bufsize 32768
  tune.maxrewrite 8192
  tune.ssl.default-dh-param 2048
  tune.ssl.cachesize 0
  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
  ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305

defaults
  maxconn 4000
  timeout connect 5s
  timeout client 30s
  timeout client-fin 1s
  timeout server 30s
  timeout server-fin 1s
  timeout http-request 10s
  timeout http-keep-alive 300s
  timeout tunnel 1h

frontend public
  bind $haproxy_http
  mode http
  tcp-request inspect-delay 5s
  tcp-request content accept if HTTP
  http-request del-header Proxy
  http-request set-header Host %[req.hdr(Host),lower]
  acl secure_redirect base,map_reg_int($dir/os_route_http_redirect.map) -m bool
  redirect scheme https if secure_redirect
  use_backend %[base,map_reg($dir/os_http_be.map)]
  default_backend openshift_default

frontend public_ssl
  bind $haproxy_https
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  acl sni req.ssl_sni -m found
  acl sni_passthrough req.ssl_sni,lower,map_reg($dir/os_sni_passthrough.map) -m found
  use_backend %[req.ssl_sni,lower,map_reg($dir/os_tcp_be.map)] if sni sni_passthrough
  use_backend be_sni if sni
  default_backend be_no_sni

backend be_sni
  server fe_sni 127.0.0.1:20444 weight 1 send-proxy

frontend fe_sni
  bind 127.0.0.1:20444 ssl crt $work/combined.pem crt-list $dir/cert_config.map accept-proxy
  mode http
  http-request del-header Proxy
  http-request set-header Host %[req.hdr(Host),lower]
  use_backend %[base,map_reg($dir/os_edge_reencrypt_be.map)]
  default_backend openshift_default

backend be_no_sni
  server fe_no_sni 127.0.0.1:20443 weight 1 send-proxy

frontend fe_no_sni
  bind 127.0.0.1:20443 ssl crt $work/combined.pem accept-proxy
  mode http
  http-request del-header Proxy
  http-request set-header Host %[req.hdr(Host),lower]
  use_backend %[base,map_reg($dir/os_edge_reencrypt_be.map)]
  default_backend openshift_default

backend openshift_default
  mode http
  option forwardfor
EOF
    for ((i = 1; i <= n; i++)); do
      for kind in "be_http:bench:r$i" "be_edge_http:bench:e$i"; do
        local cookie
        cookie="$(printf ' bench:%s' "${kind##*:}" | md5sum | cut -c1-32)"
        cat <<EOF

backend $kind
  mode http
  option redispatch
  option forwardfor
  balance random
  timeout check 5000ms
  http-request add-header X-Forwarded-Host %[req.hdr(host)]
  http-request add-header X-Forwarded-Port %[dst_port]
  http-request add-header X-Forwarded-Proto http if !{ ssl_fc }
  http-request add-header X-Forwarded-Proto https if { ssl_fc }
  http-request add-header Forwarded for=%[src];host=%[req.hdr(host)];proto=%[req.hdr(X-Forwarded-Proto)]
  cookie $cookie insert indirect nocache httponly
  server pod:a:be:http:${backends[0]} ${backends[0]} cookie $(printf 'ept:be:http:%s' "${backends[0]}" | md5sum | cut -c1-32) weight 256 check inter 5000ms
  server pod:b:be:http:${backends[1]} ${backends[1]} cookie $(printf 'ept:be:http:%s' "${backends[1]}" | md5sum | cut -c1-32) weight 256 check inter 5000ms
EOF
      done
      cat <<EOF

backend be_tcp:bench:p$i
  balance source
  hash-type consistent
  timeout check 5000ms
  server pod:t:tls:https:$tls_backend $tls_backend weight 256
EOF
    done
  } >"$dir/haproxy.cfg"
}

start_haproxy() {
  haproxy -c -q -f "$work/haproxy/haproxy.cfg"
  taskset -c 1 haproxy -f "$work/haproxy/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
  haproxy_pid=$!
  track "$haproxy_pid"
  for _ in $(seq 100); do
    curl -s -o /dev/null -H "Host: r1-bench.$domain" "http://$haproxy_http/" && return 0
    sleep 0.1
  done
  echo "bench-router: haproxy did not start:" >&2; cat "$work/haproxy.log" >&2
  exit 1
}

# One measurement: "<rps> <p50> <p99> <errors>".
measure() { # address hosts-file mode connections
  local out
  out="$(taskset -c 0 "$load" router --address "$1" --hosts "$2" --mode "$3" --connections "$4" \
    --seconds "$seconds" --ca "$work/ca.pem")"
  echo "$out" | awk '{for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["rps"], v["p50_ms"], v["p99_ms"], v["errors"]}'
}

# The median of numbers (the middle one; of an even count, the mean of the middle two).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# "<rps> <p50> <p99> <errors>" of runs: the median of each column, errors summed.
medians() {
  local rps=() p50=() p99=() errors=0 run a b c e
  for run in "$@"; do
    read -r a b c e <<<"$run"
    rps+=("$a") p50+=("$b") p99+=("$c") errors=$((errors + e))
  done
  echo "$(median "${rps[@]}") $(median "${p50[@]}") $(median "${p99[@]}") $errors"
}

report=()
run_size() {
  local n=$1 from=$2 test any=""
  for test in http edge-tls passthrough; do wanted "$n-$test" && any=1; done
  routes "$from" "$n" rep >"$work/routes-$n.json"
  kubectl create -f "$work/routes-$n.json" >/dev/null
  [ -z "$any" ] && return 0
  wait_routes $((3 * n))
  wait_admitted $((3 * n))
  for k in r e p; do
    seq 1 "$n" | sed "s/.*/$k&-bench.$domain/" >"$work/hosts-$k.txt"
  done
  haproxy_config "$n"
  [ -n "${haproxy_pid:-}" ] && { kill "$haproxy_pid"; wait "$haproxy_pid" 2>/dev/null || true; }
  start_haproxy
  local address_r address_h hosts mode conns i r h started
  for test in http edge-tls passthrough; do
    wanted "$n-$test" || continue
    case $test in
      http) hosts="$work/hosts-r.txt" mode=http conns=64 address_r=$router_http address_h=$haproxy_http ;;
      edge-tls) hosts="$work/hosts-e.txt" mode=tls conns=32 address_r=$router_https address_h=$haproxy_https ;;
      passthrough) hosts="$work/hosts-p.txt" mode=tls conns=32 address_r=$router_https address_h=$haproxy_https ;;
    esac
    # Alternated, so that the machine's other load, which comes and goes, falls on both.
    local runs_r=() runs_h=()
    started=$SECONDS
    for ((i = 1; i <= rounds; i++)); do
      r="$(measure "$address_r" "$hosts" "$mode" "$conns")"
      h="$(measure "$address_h" "$hosts" "$mode" "$conns")"
      printf '%-6s %-12s run %d: router %s | haproxy %s | load %s\n' "$n" "$test" "$i" "$r" "$h" \
        "$(cut -d' ' -f1 /proc/loadavg)"
      runs_r+=("$r") runs_h+=("$h")
    done
    echo "$n $test: $((SECONDS - started)) s"
    report+=("$n $test $(medians "${runs_r[@]}") $(medians "${runs_h[@]}")")
  done
}

run_size 1 1
case " $cases " in *" 1000-"* | *" rss "*) run_size 1000 2 ;; esac

# Memory with 10,000 routes (the 3,000 above and 7,000 plain ones more).
rss_kib=""
if wanted rss; then
  routes 1001 8000 r >"$work/routes-more.json"
  kubectl create -f "$work/routes-more.json" >/dev/null
  wait_routes 10000
  wait_admitted 10000
  sleep 2
  rss_kib="$(awk '/^VmRSS/{print $2}' "/proc/$router_pid/status")"
  peak_kib="$(awk '/^VmHWM/{print $2}' "/proc/$router_pid/status")"
fi

printf '\nmedians of %d runs of %d s each\n' "$rounds" "$seconds"
printf '%-6s %-12s | %-28s | %-28s | %s\n' routes test "router rps p50 p99 (ms)" "haproxy rps p50 p99 (ms)" "router/haproxy rps, p99"
for line in "${report[@]}"; do
  read -r n test rr rp50 rp99 rerr hr hp50 hp99 herr <<<"$line"
  ratio="$(awk -v a="$rr" -v b="$hr" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
  p99ratio="$(awk -v a="$rp99" -v b="$hp99" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
  printf '%-6s %-12s | %8s %8s %8s e=%-3s | %8s %8s %8s e=%-3s | %sx, %sx\n' \
    "$n" "$test" "$rr" "$rp50" "$rp99" "$rerr" "$hr" "$hp50" "$hp99" "$herr" "$ratio" "$p99ratio"
done
[ -n "$rss_kib" ] && echo "router RSS with 10000 routes: $((rss_kib / 1024)) MiB (peak $((peak_kib / 1024)) MiB)"
true
