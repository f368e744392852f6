#!/usr/bin/env bash
# The driver matrix: the `drivers` module of the integration tests (cli/tests/it/drivers.rs:
# bake, embedded load, source fallback, damaged binaries and tables, disk cache, recovery,
# a process dying during parallel compiles) on every OpenCL implementation at hand, then one
# line per driver with its pass count. Called by scripts/test.sh (host drivers) and
# scripts/test-cross.sh (the emulated aarch64 PoCL).
#
# Usage: scripts/test-drivers.sh [DRIVER]...
#   pthread        PoCL's default CPU device
#   basic          PoCL with POCL_DEVICES=basic (another fingerprint, no threads)
#   oclgrind       Oclgrind 21.10 (apt package oclgrind; an ICD folder made here names
#                  /usr/lib/oclgrind/liboclgrind-rt-icd.so for OCL_ICD_VENDORS)
#   aarch64=BIN    BIN, an aarch64 build of clbake, under qemu-user with the arm64 PoCL
#                  sysroot (scripts/run-aarch64.sh); the two tests that need the test build's
#                  hooks are skipped there
#   default: pthread basic oclgrind
#
# The test binary is built once and run directly with each driver's environment (through
# cargo, a changed OCL_ICD_VENDORS would re-run the build script and re-bake).
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$REPO"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

log() { printf '[test-drivers] %s\n' "$*"; }
die() { printf '[test-drivers] FAIL: %s\n' "$*" >&2; exit 1; }

drivers=("$@")
[ "${#drivers[@]}" -gt 0 ] || drivers=(pthread basic oclgrind)

# Variables that would pick another device or path than the one each run sets.
unset CLBAKE_DEVICE CLBAKE_EMBEDDED CLBAKE_CACHE_DIR CLBAKE_JOBS POCL_DEVICES OCL_ICD_VENDORS CLBAKE_TEST_EXE

log "building the integration tests once"
IT=$(cargo test -p clbake-cli --test it --no-run --message-format=json 2>/dev/null | scripts/cargo-artifact.py it) || true
[ -x "$IT" ] || die "no integration test binary (run: cargo test -p clbake-cli --test it --no-run)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SUMMARY=()

# run_matrix LABEL [VAR=VALUE...] -- [test binary args...]
run_matrix() {
    local label=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local out=$WORK/$label.log t0 t1 rc
    printf '\n==> [test-drivers] %s: %s\n' "$label" "${envs[*]:-(default environment)}"
    t0=$(date +%s)
    set +e
    env "${envs[@]}" "$IT" drivers:: --test-threads 1 "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    set -e
    t1=$(date +%s)
    local result
    result=$(grep -E '^test result:' "$out" | tail -1 | sed -E 's/^test result: ([a-zA-Z]+)\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2 passed, \3 failed/')
    SUMMARY+=("$(printf '%-10s %-32s in %4s s' "$label" "${result:-no result (exit $rc)}" "$((t1 - t0))")")
    [ "$rc" = 0 ] || FAILED+=("$label")
}

FAILED=()
for d in "${drivers[@]}"; do
    case "$d" in
        pthread) run_matrix pthread POCL_DEVICES=pthread -- ;;
        basic) run_matrix basic POCL_DEVICES=basic -- ;;
        oclgrind)
            lib=/usr/lib/oclgrind/liboclgrind-rt-icd.so
            [ -e "$lib" ] || die "Oclgrind is not installed ($lib missing): run scripts/setup-host.sh"
            mkdir -p "$WORK/oclgrind-icd"
            echo "$lib" >"$WORK/oclgrind-icd/oclgrind.icd"
            run_matrix oclgrind "OCL_ICD_VENDORS=$WORK/oclgrind-icd" -- ;;
        aarch64=*)
            bin=${d#aarch64=}
            [ -x "$bin" ] || die "no aarch64 clbake at $bin"
            run_matrix aarch64 "CLBAKE_TEST_EXE=$REPO/scripts/run-aarch64.sh $bin" -- \
                --skip a_kernel_failing_from_a_binary --skip a_process_dying_during_parallel ;;
        *) die "unknown driver '$d' (pthread, basic, oclgrind, aarch64=BIN)" ;;
    esac
done

printf '\n[test-drivers] driver matrix (cli/tests/it/drivers.rs):\n'
printf '[test-drivers]   %s\n' "${SUMMARY[@]}"
[ "${#FAILED[@]}" = 0 ] || die "failed on: ${FAILED[*]}"
