#!/usr/bin/env bash
# Builds a static firedrill (glibc, crt-static, no OpenSSL) and the FROM scratch test image
# firedrill-target:test from it. The static build has its own target folder so it does not
# invalidate the normal debug build's cache.
#
#   docker/build-target-image.sh            # build binary and image
#   FIREDRILL_IMAGE=my/firedrill:dev docker/build-target-image.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
image=${FIREDRILL_IMAGE:-firedrill-target:test}
triple=${FIREDRILL_STATIC_TRIPLE:-x86_64-unknown-linux-gnu}
target_dir=${FIREDRILL_STATIC_TARGET_DIR:-$root/target/static}

# --target makes RUSTFLAGS apply to firedrill only, not to build scripts and proc macros,
# which cannot be linked statically.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release \
    --manifest-path "$root/Cargo.toml" --target "$triple" --target-dir "$target_dir"
binary="$target_dir/$triple/release/firedrill"

# ldd lists "=> /lib/..." lines only for a dynamically linked binary.
if ldd "$binary" 2>&1 | grep -q "=>"; then
    echo "error: $binary is dynamically linked; a FROM scratch image needs a static build" >&2
    exit 1
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/firedrill"
cp "$root/docker/target.Dockerfile" "$context/Dockerfile"
docker build --quiet --tag "$image" "$context"
echo "built $image from $binary"
