#!/usr/bin/env bash
# Install zig (from PyPI's `ziglang` wheel) and cargo-zigbuild, pinned, for glibc-versioned
# cross builds:  cargo zigbuild --release --target aarch64-unknown-linux-gnu.2.28
#
# Usage: scripts/setup-zig.sh
# Env:   ZIGLANG_VERSION (default below), CARGO_ZIGBUILD_VERSION (default below),
#        PYTHON (default: python3)
#
# Idempotent: pip/cargo run only when the pinned version is not already installed.
# cargo-zigbuild looks for `python3 -m ziglang` first (CARGO_ZIGBUILD_PYTHON_PATH names
# another python), then for `zig` (CARGO_ZIGBUILD_ZIG_PATH), so the pip wheel is enough.
# It passes its zig wrapper to rustc as `-C linker=...`, which beats the `linker` entries of
# .cargo/config.toml: nothing needs unsetting for `cargo zigbuild`.
set -euo pipefail

ZIGLANG_VERSION=${ZIGLANG_VERSION:-0.14.1}
CARGO_ZIGBUILD_VERSION=${CARGO_ZIGBUILD_VERSION:-0.24.1}
PYTHON=${PYTHON:-python3}

log() { printf '[setup-zig] %s\n' "$*" >&2; }
die() { printf '[setup-zig] error: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH"

# --- zig, via the ziglang wheel ---
have_zig=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("ziglang"))' 2>/dev/null || true)
if [ "$have_zig" = "$ZIGLANG_VERSION" ]; then
    log "ziglang $ZIGLANG_VERSION already installed"
else
    log "pip install ziglang==$ZIGLANG_VERSION (found: ${have_zig:-none})"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --no-input "ziglang==$ZIGLANG_VERSION"
fi
zig_version=$("$PYTHON" -m ziglang version) || die "'$PYTHON -m ziglang version' failed"
log "zig (python -m ziglang): $zig_version"
if [ "$PYTHON" != python3 ] && [ -z "${CARGO_ZIGBUILD_PYTHON_PATH:-}" ]; then
    log "note: cargo-zigbuild runs 'python3 -m ziglang'; export CARGO_ZIGBUILD_PYTHON_PATH=$PYTHON"
fi

# --- cargo-zigbuild ---
have_czb=$(cargo-zigbuild --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have_czb" = "$CARGO_ZIGBUILD_VERSION" ]; then
    log "cargo-zigbuild $CARGO_ZIGBUILD_VERSION already installed"
else
    log "cargo install cargo-zigbuild@$CARGO_ZIGBUILD_VERSION --locked (found: ${have_czb:-none}; takes a few minutes)"
    cargo install --locked --quiet cargo-zigbuild --version "=$CARGO_ZIGBUILD_VERSION"
fi
log "$(cargo-zigbuild --version)"
log "done"
