#!/usr/bin/env bash
# What an admission webhook adds to a create, against a local `oxshift start`: a validating
# webhook on loopback (e2e/python/admission_webhook.py, TLS with a CA made here) whose
# objectSelector matches ConfigMaps labelled bench-webhook=called; one client alternates
# labelled and unlabelled creates (`oxshift-load webhook-cost`), so both see the same load,
# in ROUNDS rounds of COUNT creates; each round's p50/p99 of both, and the medians over the
# rounds of what the webhook adds. The load average is printed before and after. Then what
# one CEL policy evaluation costs (apiserver's `cel_policy_evaluation_cost`).
#
#   hack/bench-webhooks.sh            # release build
#   PROFILE=debug hack/bench-webhooks.sh
#   OXSHIFT_BIN=... LOAD_BIN=... CEL=0 hack/bench-webhooks.sh   # binaries built already; no CEL step
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
flag=$([ "$profile" = release ] && echo --release || true)
target=${CARGO_TARGET_DIR:-target}
python=${OXSHIFT_PYTHON:-python3}
count=${COUNT:-2000}
rounds=${ROUNDS:-5}
oxshift=${OXSHIFT_BIN:-$target/$profile/oxshift}
load_bin=${LOAD_BIN:-$target/$profile/oxshift-load}
[ -n "${OXSHIFT_BIN:-}" ] && [ -n "${LOAD_BIN:-}" ] || cargo build $flag -p oxshift -p load --bins
. hack/lib.sh
start_server "$oxshift" "$work/data" "$(free_port)" --node=false --router=false \
  --registry=false
pid=$server_pid
export KUBECONFIG=$work/data/admin.kubeconfig
# The webhook's own CA and serving certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/hook.key" -out "$work/hook.csr" 2>/dev/null
openssl x509 -req -in "$work/hook.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -days 1 -extfile <(printf 'subjectAltName=IP:127.0.0.1') -out "$work/hook.crt" 2>/dev/null
coproc HOOK { exec "$python" e2e/python/admission_webhook.py "$work/hook.crt" "$work/hook.key"; }
track "$HOOK_PID"
read -r hook_port <&"${HOOK[0]}"
kubectl apply -f - >/dev/null <<EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: bench}
webhooks:
- name: allow.bench.local
  clientConfig: {url: "https://127.0.0.1:$hook_port/allow", caBundle: "$(base64 -w0 "$work/ca.crt")"}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}]
  objectSelector: {matchLabels: {bench-webhook: called}}
  sideEffects: None
  admissionReviewVersions: [v1]
EOF
# Wait until the webhook is called (its configuration arrives through a watch).
until kubectl get --raw /metrics | grep -q 'apiserver_admission_webhook_admission_duration_seconds_count{name="allow.bench.local"'; do
  kubectl create -f - >/dev/null <<EOF
{"apiVersion": "v1", "kind": "ConfigMap",
 "metadata": {"name": "probe-$RANDOM$RANDOM", "labels": {"bench-webhook": "called"}}}
EOF
done

echo "== creates alternating with and without the webhook (load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
"$load_bin" --server-pid "$pid" webhook-cost --rounds "$rounds" --count "$count" \
  --label bench-webhook=called
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (target: the webhook adds p99 <= 2 ms)"

[ "${CEL:-1}" = 0 ] && exit 0
echo "== one CEL policy evaluation"
cargo test $flag -p apiserver --lib cel_policy_evaluation_cost -- --ignored --nocapture 2>/dev/null | grep "CEL"
