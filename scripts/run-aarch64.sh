#!/usr/bin/env bash
# Run an aarch64 Linux executable under qemu-user against the aarch64 PoCL sysroot
# (built by scripts/aarch64-sysroot.sh), so it sees an emulated aarch64 OpenCL CPU device.
#
# Usage: scripts/run-aarch64.sh CMD [ARGS...]
# Env:   CLBAKE_AARCH64_SYSROOT  sysroot dir (default <repo>/.sysroot/aarch64)
#
# Usable as a cargo runner:
#   CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/scripts/run-aarch64.sh" \
#       cargo test --target aarch64-unknown-linux-gnu
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
DIR=${CLBAKE_AARCH64_SYSROOT:-$REPO_ROOT/.sysroot/aarch64}

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 64
fi
if [ ! -f "$DIR/env.sh" ]; then
    echo "[run-aarch64] no sysroot at $DIR: run scripts/aarch64-sysroot.sh first" >&2
    exit 1
fi
command -v qemu-aarch64-static >/dev/null 2>&1 || {
    echo "[run-aarch64] qemu-aarch64-static not found: run scripts/setup-host.sh" >&2
    exit 1
}

# shellcheck source=/dev/null
. "$DIR/env.sh"
exec qemu-aarch64-static -L "$DIR" "$@"
