#!/usr/bin/env bash
# Installs what Oxshift's build and tests need, when it is missing (idempotent):
#   protoc (protobuf-compiler)  - the etcd backend's gRPC code is generated at build time
#   etcd   (etcd-server)        - tests and benchmarks start a real etcd
#   the Python kubernetes client, in a virtualenv under target/, for the end-to-end tests
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

install_system_packages() {
  local need=()
  command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
  command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
  [ ${#need[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "hack/setup.sh: need root (or sudo) to install: ${need[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "hack/setup.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian ships etcd with a service unit; tests start their own etcd, so keep the system one off.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
    "${sudo[@]}" systemctl stop etcd || true
  fi
}

install_python_client() {
  local venv="$root/target/e2e-venv"
  "$venv/bin/python" -c 'import kubernetes' >/dev/null 2>&1 && return 0
  echo "hack/setup.sh: installing the Python kubernetes client into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes==37.0.2'
}

install_system_packages
install_python_client
