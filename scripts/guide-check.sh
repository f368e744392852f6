#!/usr/bin/env bash
# Run the commands of docs/GUIDE.md, in a temporary directory, and check what they print.
#
# Usage: scripts/guide-check.sh [--keep]
#   --keep   keep the temporary directory (its path is printed)
# Env:
#   GUIDE_CHECK_CROSS=1        also run sections 8-10: aarch64/armv7 cross builds, the emulated
#                              aarch64 board (PoCL under qemu-user), bake there, rebuild, run.
#                              Off by default: two release cross builds plus source compiles
#                              under qemu take 10+ minutes on a 2-core machine.
#   GUIDE_CHECK_TARGET_DIR     where builds go (default: $CARGO_TARGET_DIR or <repo>/target,
#                              plus /guide-check); kept between runs so reruns are incremental
#   GUIDE_CHECK_SSH_PORT       port of the throwaway sshd standing in for the board (default 22522)
#
# Host part (always): install the tool (`cargo install --path`), `cargo new` + the guide's
# `cargo add` lines, build and run the crate, every run-time CLBAKE_* variable, `clbake
# inspect` (also through `| head`), the bake -> kernels/precompiled/ -> rebuild loop with
# CLBAKE_BAKE=off, the stale warning, `scp`/`ssh` to a local sshd (scripts/sshd.sh; skipped
# with a SKIP line when openssh-server is not installed), the error lines and exit codes.
# Needs an OpenCL device on the host (scripts/setup-host.sh --opencl-only installs PoCL).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done

T=${GUIDE_CHECK_TARGET_DIR:-${CARGO_TARGET_DIR:-$REPO/target}/guide-check}
mkdir -p "$T"
T=$(cd "$T" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/guide-check.XXXXXX")
SSH_DIR=$TMP/sshd
PORT=${GUIDE_CHECK_SSH_PORT:-22522}
skipped=()
steps=0

cleanup() {
    if [ -f "$SSH_DIR/sshd.pid" ]; then "$REPO/scripts/sshd.sh" stop "$SSH_DIR" >/dev/null 2>&1 || true; fi
    if [ "$keep" = 1 ]; then echo "[guide-check] kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

log() { printf '[guide-check] %s\n' "$*" >&2; }
fail() { printf '[guide-check] FAIL: %s\n' "$*" >&2; exit 1; }
step() { steps=$((steps + 1)); printf '\n[guide-check] == %s\n' "$*" >&2; }
skip() { skipped+=("$*"); printf '[guide-check] SKIP: %s\n' "$*" >&2; }

# show CMD...: prints the command, runs it, keeps its stdout+stderr in $OUT; fails on non-zero.
show() {
    printf '$ %s\n' "$*" >&2
    if ! OUT=$("$@" 2>&1); then
        printf '%s\n' "$OUT" >&2
        fail "exit status non-zero: $*"
    fi
    # sed reads all of it (no `| head`: under pipefail a long output made the pipe exit 141).
    printf '%s\n' "$OUT" | sed -n '1,40s/^/    /p' >&2
}

# show_status CODE CMD...: like show, but the command must exit with CODE.
show_status() {
    local want=$1 rc=0
    shift
    printf '$ %s   (expect exit %s)\n' "$*" "$want" >&2
    OUT=$("$@" 2>&1) || rc=$?
    printf '%s\n' "$OUT" | sed -n '1,20s/^/    /p' >&2
    [ "$rc" = "$want" ] || fail "exit status $rc, expected $want: $*"
}

# expect TEXT: the last output contains TEXT.
expect() {
    grep -qF -- "$1" <<<"$OUT" || fail "expected \`$1\` in the output above"
}

# expect_count N TEXT: TEXT occurs on exactly N lines of the last output.
expect_count() {
    local n
    n=$(grep -cF -- "$2" <<<"$OUT" || true)
    [ "$n" = "$1" ] || fail "expected $1 line(s) with \`$2\`, found $n"
}

export POCL_KERNEL_CACHE=0               # time and exercise clbake's paths, not PoCL's cache
export CLBAKE_CACHE_DIR=off              # never ~/.cache; section 5 names its own
unset CLBAKE_BAKE CLBAKE_DEVICE CLBAKE_EMBEDDED CLBAKE_JOBS CLBAKE_ZSTD_LEVEL

# ---- 1. Set up --------------------------------------------------------------------------
step "1. set up: an OpenCL device, the clbake tool"
show "$REPO/scripts/setup-host.sh" --opencl-only     # idempotent: apt-get only for what is missing
show clinfo -l
expect "Device"
show cargo install --locked --path "$REPO/cli" --root "$TMP/tools" --target-dir "$T/tool" --quiet
export PATH=$TMP/tools/bin:$PATH
show clbake devices
expect "fingerprint"
show clbake devices --json
expect '"fingerprint_hash"'

# ---- 2.-4. The crate, kernels, build and run ---------------------------------------------
step "2. a crate with its own kernels (cargo new, cargo add)"
cd "$TMP"
show cargo new --quiet hello-kernels
cd hello-kernels
APP=$PWD
show cargo add --quiet clbake --path "$REPO" --no-default-features
show cargo add --quiet --build clbake-core --path "$REPO/core" --features opencl
grep -q 'default-features = false' Cargo.toml || fail "cargo add did not write default-features = false"
# The example's lock file pins the same versions as the checkout (no re-resolution, no download).
cp "$REPO/examples/hello-kernels/Cargo.lock" .
cp "$REPO/examples/hello-kernels/build.rs" build.rs
[ "$(wc -l <build.rs)" = 3 ] || fail "the example's build.rs is not three lines"

step "3. write kernels (saxpy.cl, reduce.cl with two variants, ops.h)"
mkdir kernels
cp "$REPO/examples/hello-kernels/kernels/"*.cl "$REPO/examples/hello-kernels/kernels/"*.h kernels/
cp "$REPO/examples/hello-kernels/src/main.rs" src/main.rs
grep -q '^// clbake:variant sum -DOP_SUM$' kernels/reduce.cl || fail "reduce.cl lost its variant lines"
export CARGO_TARGET_DIR=$T/app         # the guide's target/ (kept between runs)
BIN=$CARGO_TARGET_DIR/debug/hello-kernels

step "4. build and run"
show cargo run
expect "saxpy        n=100003"
expect_count 3 "  ok"
expect "(3 embedded, 0 cache, 0 source)"
touch kernels/saxpy.cl                  # so the build script runs again and -vv shows its progress
show cargo build -vv
expect "clbake: [3/3]"

step "4. a kernel with an error fails the build, naming file and line"
printf '__kernel void broken(__global float* x) {\n\n    x[0] = undefined_thing;\n}\n' >kernels/broken.cl
show_status 101 cargo build
expect "broken.cl:3"
expect "undefined_thing"
rm kernels/broken.cl

# ---- 5. The load report and the run-time variables -----------------------------------------
step "5. the load report: CLBAKE_EMBEDDED=off, CLBAKE_CACHE_DIR, CLBAKE_DEVICE, CLBAKE_JOBS"
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=off cargo run
expect "(0 embedded, 0 cache, 3 source)"
expect "embedded missed: disabled"
expect "cache missed: disabled"
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR="$TMP/hello-cache" cargo run
expect "(0 embedded, 0 cache, 3 source)"
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR="$TMP/hello-cache" cargo run
expect "(0 embedded, 3 cache, 0 source)"
show clbake cache --dir "$TMP/hello-cache" ls
expect "saxpy"
show env CLBAKE_DEVICE=0 CLBAKE_JOBS=1 "$BIN"
expect "3 embedded"
show_status 1 env CLBAKE_DEVICE=99 "$BIN"
expect "device 99 does not exist"

# ---- 6. Look inside --------------------------------------------------------------------------
step "6. look inside the executable: only its own programs"
show clbake inspect "$BIN"
expect "programs (3):"
expect "binaries (3):"
expect 'reduce_max         options "-DOP_MAX"'
# The declared launches (`// clbake:launch`) ran at bake time: PoCL's binaries hold their code.
expect "specialised: saxpy/64-1-1"
expect "specialised: reduce/64-1-1"
printf '$ clbake inspect --json %s | head -n 20\n' "$BIN" >&2
OUT=$(clbake inspect --json "$BIN" | head -n 20) || true   # 141 (SIGPIPE) when head leaves first
expect '"source": "elf section .clbake"'
if clbake inspect --json "$BIN" | grep -q '"conv2d'; then fail "clbake's own kernels are embedded in the example"; fi
# A reader that goes away early: the tool must end quietly (no panic on a broken pipe).
err=$( { clbake inspect "$BIN" | head -n 1 >/dev/null || true; } 2>&1 )
[ -z "$err" ] || fail "clbake inspect | head printed: $err"

# ---- 7. Build-time variables -------------------------------------------------------------------
step "7. build-time variables: CLBAKE_BAKE=off / host, CLBAKE_ZSTD_LEVEL, CLBAKE_JOBS"
show env CLBAKE_BAKE=off cargo build
expect "CLBAKE_BAKE=off: embedding kernel sources only"
show "$BIN"
expect "(0 embedded, 0 cache, 3 source)"
expect "no binary in the bundle"
show env CLBAKE_BAKE=host CLBAKE_JOBS=1 CLBAKE_ZSTD_LEVEL=3 cargo build
show "$BIN"
expect "(3 embedded, 0 cache, 0 source)"
show_status 101 env CLBAKE_BAKE=host OCL_ICD_VENDORS="$TMP/no-vendors" cargo build
expect "CLBAKE_BAKE=host but no OpenCL device is usable"

# ---- 10. (on one machine) bake, copy to kernels/precompiled/, rebuild ----------------------
step "10. bake from the executable, copy into kernels/precompiled/, rebuild without compiling"
mkdir -p kernels/precompiled
show clbake bake --from "$BIN" -o kernels/precompiled/host.clbk
expect "[3/3]"
show clbake bake --json --from "$BIN" -o "$TMP/again.clbk"
expect '"binaries": 3'
show env CLBAKE_BAKE=off cargo build
show "$BIN"
expect "(3 embedded, 0 cache, 0 source)"
step "10. change a kernel: the precompiled binary is stale, with a warning naming the bundle"
sed -i 's/out\[i\] = a \* x\[i\] + y\[i\];/out[i] = fma(a, x[i], y[i]);/' kernels/saxpy.cl
grep -q fma kernels/saxpy.cl || fail "could not edit saxpy.cl"
show env CLBAKE_BAKE=off cargo build
expect "host.clbk: skipped 1 stale binary"
show "$BIN"
expect "(2 embedded, 0 cache, 1 source)"
cp "$REPO/examples/hello-kernels/kernels/saxpy.cl" kernels/saxpy.cl
rm -r kernels/precompiled

# ---- 9./10. scp to a board and bake there (a local sshd stands in for the board) -----------
step "9.-10. bake on the board over ssh (clbake bake --remote, by hand, clbake on the board), rebuild, scp, run"
if [ -x /usr/sbin/sshd ] && command -v scp >/dev/null && command -v ssh >/dev/null; then
    show cargo build
    "$REPO/scripts/sshd.sh" start "$SSH_DIR" "$PORT"
    S=(-F "$SSH_DIR/ssh_config")
    BOARD=$TMP/board
    mkdir -p "$BOARD"
    # One command: scp the app, run its --clbake-bake over ssh, bring the bundle home.
    show clbake bake --remote clbake-test --ssh-config "$SSH_DIR/ssh_config" --runner "env POCL_KERNEL_CACHE=0" --from "$BIN"
    [ -f kernels/precompiled/clbake-test.clbk ] || fail "clbake bake --remote did not write kernels/precompiled/clbake-test.clbk"
    show clbake inspect kernels/precompiled/clbake-test.clbk
    expect "binaries (3):"
    rm -r kernels/precompiled
    # By hand: the app bakes itself on the board.
    show scp "${S[@]}" "$BIN" "clbake-test:$BOARD/"
    show ssh "${S[@]}" clbake-test "cd $BOARD && POCL_KERNEL_CACHE=0 ./hello-kernels --clbake-bake board.clbk"
    expect "[3/3]"
    # With the clbake tool on the board.
    show scp "${S[@]}" "$(command -v clbake)" "clbake-test:$BOARD/"
    show ssh "${S[@]}" clbake-test "cd $BOARD && POCL_KERNEL_CACHE=0 ./clbake bake --from ./hello-kernels -o board.clbk"
    expect "wrote board.clbk"
    mkdir -p kernels/precompiled
    show scp "${S[@]}" "clbake-test:$BOARD/board.clbk" kernels/precompiled/
    show env CLBAKE_BAKE=off cargo build
    show clbake inspect "$BIN"
    expect "binaries (3):"
    show scp "${S[@]}" "$BIN" "clbake-test:$BOARD/"
    show ssh "${S[@]}" clbake-test "cd $BOARD && CLBAKE_CACHE_DIR=off POCL_KERNEL_CACHE=0 ./hello-kernels"
    expect "(3 embedded, 0 cache, 0 source)"
    "$REPO/scripts/sshd.sh" stop "$SSH_DIR"
    rm -r kernels/precompiled
else
    skip "scp/ssh round trip: no /usr/sbin/sshd or ssh client (scripts/setup-host.sh installs them)"
fi

# ---- 11. include_model! with a wrong path -----------------------------------------------------
step "11. include_model! with a wrong path is a compile error naming the path"
cp src/main.rs "$TMP/main.rs.orig"
printf '\nmod weights {\n    clbake::include_model!("models/net.safetensors");\n}\n' >>src/main.rs
show_status 101 cargo build
expect "cannot read model $APP/models/net.safetensors"
cp "$TMP/main.rs.orig" src/main.rs

# ---- 12.-13. The tool: help, exit codes, error lines ----------------------------------------
step "12. help and exit codes"
for verb in devices inspect bake demo cache; do
    show clbake "$verb" --help
    expect "Exit codes:"
done
show_status 2 clbake no-such-verb
step "13. error lines: no device, no runtime, compile error, damaged bundle, not a bundle"
show_status 1 env OCL_ICD_VENDORS=/nonexistent clbake devices
expect "error: no OpenCL device found"
mkdir -p "$TMP/no-opencl" && : >"$TMP/no-opencl/libOpenCL.so.1"
show_status 1 env LD_LIBRARY_PATH="$TMP/no-opencl" clbake devices
expect "error: no OpenCL runtime"
mkdir -p "$TMP/oops" && printf '__kernel void k(__global float* x) {\n  x[0] = nope;\n}\n' >"$TMP/oops/oops.cl"
show_status 1 clbake bake --kernels "$TMP/oops" -o "$TMP/oops.clbk"
expect "error: kernel compile error:"
expect "oops.cl:2"
show clbake bake --from "$BIN" -o "$TMP/board.clbk"
head -c 1000 "$TMP/board.clbk" >"$TMP/cut.clbk"
show_status 1 clbake inspect "$TMP/cut.clbk"
expect "the file is damaged or cut short"
echo hello >"$TMP/notes.txt"
show_status 1 clbake inspect "$TMP/notes.txt"
expect "no clbake bundle found"

# ---- 8.-10. Cross builds and the emulated aarch64 board (GUIDE_CHECK_CROSS=1) --------------
if [ "${GUIDE_CHECK_CROSS:-0}" = 1 ]; then
    step "8. cross-build for aarch64 and armv7"
    show "$REPO/scripts/setup-host.sh" --no-ssh
    mkdir -p .cargo
    cat >.cargo/config.toml <<'EOF'
[target.aarch64-unknown-linux-gnu]
linker = "aarch64-linux-gnu-gcc"
runner = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"]

[target.armv7-unknown-linux-gnueabihf]
linker = "arm-linux-gnueabihf-gcc"
runner = ["qemu-arm-static", "-L", "/usr/arm-linux-gnueabihf"]
EOF
    A64=$CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release/hello-kernels
    show cargo build --release --target aarch64-unknown-linux-gnu
    show cargo build --release --target armv7-unknown-linux-gnueabihf
    show file "$A64" "$CARGO_TARGET_DIR/armv7-unknown-linux-gnueabihf/release/hello-kernels"
    expect "ARM aarch64"
    expect "ARM, EABI5"
    step "8. an armv7 board without an OpenCL runtime (plain qemu-arm): one line, exit 1"
    show_status 1 qemu-arm-static -L /usr/arm-linux-gnueabihf "$CARGO_TARGET_DIR/armv7-unknown-linux-gnueabihf/release/hello-kernels"
    expect "error: no OpenCL runtime"
    step "8. glibc the board needs; a build against glibc 2.28 with cargo-zigbuild"
    show "$REPO/scripts/check-glibc.sh" "$A64"
    show "$REPO/scripts/setup-zig.sh"
    show cargo zigbuild --release --target aarch64-unknown-linux-gnu.2.28 --target-dir "$T/zig"
    show "$REPO/scripts/check-glibc.sh" "$T/zig/aarch64-unknown-linux-gnu/release/hello-kernels" 2.28

    step "8. the emulated aarch64 board: first run compiles from source"
    show "$REPO/scripts/aarch64-sysroot.sh"
    show env CLBAKE_CACHE_DIR=off "$REPO/scripts/run-aarch64.sh" "$A64"
    expect "(0 embedded, 0 cache, 3 source)"
    expect "embedded missed: no binary in the bundle"

    step "9. bake on the emulated board: the app's own --clbake-bake"
    mkdir -p kernels/precompiled
    show "$REPO/scripts/run-aarch64.sh" "$A64" --clbake-bake kernels/precompiled/pocl-aarch64.clbk
    expect "[3/3]"

    step "10. rebuild for aarch64: the board's binaries are embedded"
    show cargo build --release --target aarch64-unknown-linux-gnu
    show clbake inspect "$A64"
    expect "binaries (3):"
    show env CLBAKE_CACHE_DIR=off "$REPO/scripts/run-aarch64.sh" "$A64"
    expect "(3 embedded, 0 cache, 0 source)"
    rm -r kernels/precompiled
else
    skip "sections 8-10 on the emulated aarch64 board and armv7: set GUIDE_CHECK_CROSS=1"
fi

printf '\n[guide-check] OK: %s steps passed' "$steps" >&2
if [ "${#skipped[@]}" -gt 0 ]; then
    printf '; skipped:\n' >&2
    printf '  - %s\n' "${skipped[@]}" >&2
else
    printf '\n' >&2
fi
