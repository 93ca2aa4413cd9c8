#!/usr/bin/env bash
# What image trust costs at admission: the ImageTrustPolicy plugin's check of a pod naming
# three images signed with an RSA-3072 GPG key (simple signing, as `skopeo --sign-by` makes
# them), cold (policy read and parsed, images resolved, three signatures verified) and cached
# (the same pod again), over an in-process API server on an embedded store. Prints the medians,
# the 90th percentiles and the ratio. Targets: <= 20 ms cold, <= 1 ms cached. Then the
# resolution of a tag of another registry (a loopback registry in the same process): cold (a
# manifest GET) and cached (the digest kept for a while). Then the lookaside signatures the
# registry's signature extension serves: read from the store each time and cached.
#
#   hack/bench-image-trust.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p apiserver --all-features --lib \
  admission::image_trust::tests::bench_ \
  -- --ignored --nocapture --test-threads=1 2>&1 | grep -oE '(image trust admission|tag resolution|lookaside signatures|test result|panicked).*'
