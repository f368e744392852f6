#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a short fixed time (FUZZ_SECONDS, default 30)
# and fails on any crash. Longer local runs:  FUZZ_SECONDS=600 scripts/fuzz-smoke.sh
#
# cargo-fuzz needs nightly rustc flags; without a nightly toolchain the stable compiler is
# used with RUSTC_BOOTSTRAP=1 (no toolchain can be downloaded on CI machines).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-30}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "[fuzz] installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}

for target in $("${fuzz[@]}" list); do
    mkdir -p "corpus/$target"
    echo "[fuzz] $target for ${secs}s"
    log=$(mktemp)
    if ! "${fuzz[@]}" run "$target" "corpus/$target" -- -max_total_time="$secs" -max_len=16384 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "[fuzz] $target: CRASH (artifacts in fuzz/artifacts/$target)"
        exit 1
    fi
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n 1 || true)
    echo "[fuzz] $target: ${runs:-finished}, no crash"
    rm -f "$log"
done
