#!/usr/bin/env bash
# The full test suite: unit, doc and integration tests against PoCL, then the cross-build,
# emulation and fuzz checks that have their own scripts. Run scripts/setup-host.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo test --workspace (PoCL: $(clinfo -l 2>/dev/null | grep -c Device || echo 0) device(s))"
# Benches are not run here (they are harness = false programs); `cargo bench --no-run` keeps them compiling.
cargo test --workspace
cargo bench --workspace --no-run --quiet

step "cargo doc (no warnings allowed)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

for extra in scripts/test-cross.sh scripts/fuzz-smoke.sh scripts/guide-check.sh; do
    if [ -x "$extra" ]; then
        step "$extra"
        "$extra"
    fi
done
step "all tests passed"
