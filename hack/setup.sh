#!/usr/bin/env bash
# Installs what Oxshift's build and tests need, when it is missing (idempotent). Each Debian
# package is checked by a file it provides, not only by a command, so a half-installed machine
# (protoc without its well-known .proto files) is completed too:
#   protobuf-compiler  /usr/bin/protoc                              etcd-client's gRPC code is generated at build time
#   libprotobuf-dev    /usr/include/google/protobuf/descriptor.proto  ...and imports protoc's well-known types
#   etcd-server        /usr/bin/etcd                                tests and benchmarks start a real etcd
#   prometheus         /usr/bin/promtool                            a test checks /metrics with `promtool check metrics`
#   python3-venv       python3's venv and ensurepip                 the Python kubernetes client for the e2e tests
#   podman             /usr/bin/podman                              the node agent's container runtime
#   runc               /usr/sbin/runc                               the OCI runtime podman is told to use (crun fails here)
#   conmon             /usr/bin/conmon                              podman's container monitor
#   uidmap             /usr/bin/newuidmap                           podman's user-namespace helpers
#   iproute2           /bin/ip                                      the node agent's pod network (bridge, netns, veth)
#   buildah            /usr/bin/buildah                             e2e tests build their images from scratch
#   skopeo             /usr/bin/skopeo                              ...and copy them between registries
#   docker-registry    /usr/bin/docker-registry                     ...into a registry the test starts on loopback
#   busybox-static     /bin/busybox                                 ...holding only a static busybox
#   curl               /usr/bin/curl                                the route tests request pages through the router
#   openssl            /usr/bin/openssl                             ...over TLS with certificates they make
#   haproxy            /usr/sbin/haproxy                            hack/bench-router.sh compares the router with HAProxy 2.6
#   git                /usr/bin/git                                 the node clones builds' sources (and tests make repositories)
#   unzip              /usr/bin/unzip                               ...and unpacks zip archives uploaded as binary build input
#   gnupg              /usr/bin/gpg                                 image trust tests sign images with a key they generate
#   valgrind           /usr/bin/callgrind_control                   hack/profile-admission.sh counts admission's instructions
# The Python kubernetes client goes into a virtualenv under target/.
# `hack/setup.sh --check` installs nothing: it lists what is missing and fails if anything is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

# package|file it provides
required=(
  "protobuf-compiler|/usr/bin/protoc"
  "libprotobuf-dev|/usr/include/google/protobuf/descriptor.proto"
  "etcd-server|/usr/bin/etcd"
  "prometheus|/usr/bin/promtool"
  "podman|/usr/bin/podman"
  "runc|/usr/sbin/runc"
  "conmon|/usr/bin/conmon"
  "uidmap|/usr/bin/newuidmap"
  "iproute2|/bin/ip"
  "buildah|/usr/bin/buildah"
  "skopeo|/usr/bin/skopeo"
  "docker-registry|/usr/bin/docker-registry"
  "busybox-static|/bin/busybox"
  "curl|/usr/bin/curl"
  "openssl|/usr/bin/openssl"
  "haproxy|/usr/sbin/haproxy"
  "git|/usr/bin/git"
  "unzip|/usr/bin/unzip"
  "gnupg|/usr/bin/gpg"
  "valgrind|/usr/bin/callgrind_control"
)

missing_packages() {
  local entry
  for entry in "${required[@]}"; do
    [ -e "${entry#*|}" ] || echo "${entry%%|*}"
  done
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || echo python3-venv
}

install_system_packages() {
  local need
  mapfile -t need < <(missing_packages)
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
  # Debian ships etcd, prometheus, docker-registry and haproxy with service units; tests start their own,
  # so keep those off.
  if command -v systemctl >/dev/null 2>&1; then
    local unit
    for unit in etcd prometheus docker-registry haproxy; do
      if systemctl is-active --quiet "$unit" 2>/dev/null; then "${sudo[@]}" systemctl stop "$unit" || true; fi
    done
  fi
}

# Beside the test binaries, where the e2e tests look for it.
venv="${CARGO_TARGET_DIR:-$root/target}/e2e-venv"
python_client_ok() { "$venv/bin/python" -c 'import kubernetes' >/dev/null 2>&1; }

install_python_client() {
  python_client_ok && return 0
  echo "hack/setup.sh: installing the Python kubernetes client into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes==37.0.2'
}

# Fails, naming each, if anything the build and tests use is absent.
check() {
  local gone
  mapfile -t gone < <(missing_packages)
  python_client_ok || gone+=("python kubernetes client ($venv)")
  local cmd
  for cmd in cargo rustc kubectl python3 cc; do
    command -v "$cmd" >/dev/null 2>&1 || gone+=("command $cmd")
  done
  if [ ${#gone[@]} -ne 0 ]; then
    printf 'hack/setup.sh: missing: %s\n' "${gone[@]}" >&2
    return 1
  fi
  echo "hack/setup.sh: every package, file and command the build and tests use is present" >&2
}

if [ "${1:-}" = "--check" ]; then
  check
  exit $?
fi
install_system_packages
install_python_client
check
