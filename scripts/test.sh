#!/usr/bin/env bash
# The full test suite: formatting and lints, unit, doc and integration tests against PoCL
# (the corpus tests read ../shared/corpus), the driver matrix (PoCL pthread and basic,
# Oclgrind), then the cross-build, emulation (with the aarch64 driver matrix), fuzz and guide
# checks that have their own scripts. Run scripts/setup-host.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

T0=$(date +%s)
TIMINGS=()
LAST=''
LAST_T=$T0
step() {
    local now
    now=$(date +%s)
    [ -z "$LAST" ] || TIMINGS+=("$(printf '%5s s  %s' "$((now - LAST_T))" "$LAST")")
    LAST=$*
    LAST_T=$now
    printf '\n==> %s\n' "$*"
}

step "cargo fmt --check (workspace, example, fuzz crate)"
cargo fmt --all --check
cargo fmt --manifest-path examples/hello-kernels/Cargo.toml --check
cargo fmt --manifest-path fuzz/Cargo.toml --check

step "cargo clippy --workspace --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test --workspace (PoCL: $(clinfo -l 2>/dev/null | grep -c Device || echo 0) device(s))"
# Benches are harness = false programs, not run here; clippy --all-targets compiled them.
cargo test --workspace

step "cargo doc (no warnings allowed)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "driver matrix: PoCL pthread, PoCL basic, Oclgrind (scripts/test-drivers.sh)"
scripts/test-drivers.sh pthread basic oclgrind

for extra in scripts/test-cross.sh scripts/fuzz-smoke.sh scripts/guide-check.sh; do
    if [ -x "$extra" ]; then
        step "$extra"
        "$extra"
    fi
done
step "all tests passed"
printf '%s\n' "${TIMINGS[@]}"
printf '%5s s  total\n' "$(($(date +%s) - T0))"
