#!/usr/bin/env bash
# Installs the system packages Oxshift's build and tests need, if they are missing:
#   protoc (protobuf-compiler)  - the etcd backend's gRPC code is generated at build time
#   etcd   (etcd-server)        - tests and benchmarks start a real etcd
# Idempotent: does nothing when both are present.
set -euo pipefail

need=()
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "hack/setup.sh: need root (or sudo) to install: ${need[*]}" >&2
  exit 1
fi
echo "hack/setup.sh: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian ships etcd with a service unit; tests start their own etcd, so keep the system one off.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
  "${sudo[@]}" systemctl stop etcd || true
fi
