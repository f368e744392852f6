#!/usr/bin/env bash
# Run the commands of docs/GUIDE.md, in a temporary directory, and check what they print.
#
# Usage: scripts/guide-check.sh [--keep]
#   --keep   keep the temporary directory (its path is printed)
# Env:
#   GUIDE_CHECK_CROSS=1        also run sections 12-14: aarch64/armv7 cross builds, the emulated
#                              aarch64 board (PoCL under qemu-user), bake there, rebuild, run.
#                              Off by default: two release cross builds plus source compiles
#                              under qemu take 10+ minutes on a 2-core machine.
#   GUIDE_CHECK_TARGET_DIR     where builds go (default: $CARGO_TARGET_DIR or <repo>/target,
#                              plus /guide-check); kept between runs so reruns are incremental
#   GUIDE_CHECK_SSH_PORT       port of the throwaway sshd standing in for the board (default 22522)
#
# Host part (always): install the tool (`cargo install --path cli`); the crate of section 2
# made with `cargo new` + the guide's `cargo add` lines, its build.rs, kernel and main.rs
# taken verbatim from the guide's marked blocks (`<!-- guide-check: FILE -->`), built and
# run, and a typed call with the wrong access failing to compile; the finished example
# (section 4); the kernel library of section 5 from its marked blocks (the `clbake bake
# --kernels` survey, the Builder, untyped-kernel warnings, keep_going, deny_untyped, a
# `// clbake:tune` line and `bake --tune`); every run-time CLBAKE_* variable, the disk cache
# verbs, known answers remembered in the cache; comment vs token edits and `bake --out`
# reuse (section 9); `clbake inspect` (also through `| head`); build-time variables; the
# bake -> kernels/precompiled/ -> rebuild loop with CLBAKE_BAKE=off and the stale warning;
# `clbake demo --bundle`; `scp`/`ssh` to a local sshd (scripts/sshd.sh; skipped with a SKIP
# line when openssh-server is not installed); Oclgrind as a second driver (skipped when it
# is not installed); include_model!; the error lines and exit codes.
# Needs an OpenCL device on the host (scripts/setup-host.sh --opencl-only installs PoCL).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUIDE=$REPO/docs/GUIDE.md
keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
    # Compiler progress is noise here; sed reads all of it (no `| head`: under pipefail a
    # long output made the pipe exit 141).
    printf '%s\n' "$OUT" | grep -v '^ *\(Compiling\|Checking\|Locking\|Adding\|Updating\|Blocking\) ' | sed -n '1,40s/^/    /p' >&2 || true
}

# show_status CODE CMD...: like show, but the command must exit with CODE.
show_status() {
    local want=$1 rc=0
    shift
    printf '$ %s   (expect exit %s)\n' "$*" "$want" >&2
    OUT=$("$@" 2>&1) || rc=$?
    printf '%s\n' "$OUT" | grep -v '^ *\(Compiling\|Checking\|Blocking\) ' | sed -n '1,30s/^/    /p' >&2 || true
    [ "$rc" = "$want" ] || fail "exit status $rc, expected $want: $*"
}

# expect TEXT: the last output contains TEXT.
expect() {
    grep -qF -- "$1" <<<"$OUT" || fail "expected \`$1\` in the output above"
}

# expect_not TEXT: the last output does not contain TEXT.
expect_not() {
    if grep -qF -- "$1" <<<"$OUT"; then fail "did not expect \`$1\` in the output above"; fi
}

# expect_count N TEXT: TEXT occurs on exactly N lines of the last output.
expect_count() {
    local n
    n=$(grep -cF -- "$2" <<<"$OUT" || true)
    [ "$n" = "$1" ] || fail "expected $1 line(s) with \`$2\`, found $n"
}

# guide_file NAME DEST: writes the code block docs/GUIDE.md marks `<!-- guide-check: NAME -->`
# to DEST, exactly as the guide shows it.
guide_file() {
    mkdir -p "$(dirname "$2")"
    awk -v marker="<!-- guide-check: $1 -->" '
        $0 == marker { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }
    ' "$GUIDE" >"$2"
    [ -s "$2" ] || fail "docs/GUIDE.md has no block marked <!-- guide-check: $1 -->"
    log "wrote $2 from the guide's block $1 ($(wc -l <"$2") lines)"
}

# guide_line PREFIX: the first line of docs/GUIDE.md that starts with PREFIX.
guide_line() {
    local line
    line=$(grep -m1 -F -- "$1" "$GUIDE" | grep -- "^$1" || true)
    [ -n "$line" ] || fail "docs/GUIDE.md has no line starting with \`$1\`"
    printf '%s\n' "$line"
}

# new_crate NAME: `cargo new NAME` in $TMP and the guide's `cargo add` lines (path
# dependencies on this checkout), with the example's lock file (same versions, no download).
new_crate() {
    cd "$TMP"
    show cargo new --quiet "$1"
    cd "$1"
    show cargo add --quiet clbake --path "$REPO"
    show cargo add --quiet --build clbake-core --path "$REPO/core" --features opencl
    grep -q '^clbake = ' Cargo.toml && grep -q 'features = \["opencl"\]' Cargo.toml || fail "cargo add did not write the dependencies of section 2"
    cp "$REPO/examples/hello-kernels/Cargo.lock" .
    # The target dir is kept between runs, and a crate's OUT_DIR does not depend on where the
    # crate lives: drop the bundle an earlier run baked, so that its incremental bake does not
    # reuse binaries baked under other settings (the first build bakes from scratch).
    find "$CARGO_TARGET_DIR" -maxdepth 6 -path "*/build/$1-*/out/clbake/*.clbk" -delete 2>/dev/null || true
}

export POCL_KERNEL_CACHE=0               # time and exercise clbake's paths, not PoCL's cache
export CLBAKE_CACHE_DIR=off              # never ~/.cache; the cache steps name their own
unset CLBAKE_BAKE CLBAKE_DEVICE CLBAKE_EMBEDDED CLBAKE_JOBS CLBAKE_ZSTD_LEVEL CLBAKE_WARM CLBAKE_CHECK \
    CLBAKE_TUNE CLBAKE_TUNE_REPS CLBAKE_TUNE_CANDIDATES CLBAKE_CACHE_MAX_BYTES CLBAKE_CACHE_MAX_AGE_DAYS CLBAKE_LOG OCL_ICD_VENDORS
export CARGO_TARGET_DIR=$T/app           # the guide's target/ (kept between runs)

# ---- 1. Set up --------------------------------------------------------------------------
step "1. set up: an OpenCL device, the clbake tool"
show "$REPO/scripts/setup-host.sh" --opencl-only     # idempotent: apt-get only for what is missing
show clinfo -l
expect "Device"
show cargo install --locked --path "$REPO/cli" --root "$TMP/tools" --target-dir "$T/tool" --quiet
export PATH=$TMP/tools/bin:$PATH
show clbake devices
expect "fingerprint"
expect "process ABI"
expect "driver library"
show clbake devices --json
expect '"fingerprint_hash"'
expect '"host_abi"'

# ---- 2. The crate of section 2, from the guide's blocks --------------------------------------
step "2. a crate with its own kernels: cargo new, cargo add, build.rs, kernels/saxpy.cl, src/main.rs as the guide shows them"
new_crate hello
HELLO=$PWD
guide_file hello/build.rs build.rs
guide_file hello/kernels/saxpy.cl kernels/saxpy.cl
guide_file hello/src/main.rs src/main.rs
HELLO_BIN=$CARGO_TARGET_DIR/debug/hello
show cargo run
expect "out[10] = 21"
expect "(1 embedded, 0 cache, 0 source)"
expect "  saxpy                embedded"
cp "$HELLO_BIN" "$TMP/hello-pocl"          # built for this machine's devices only (section 15)
touch kernels/saxpy.cl                      # so the build script runs again and -vv shows its summary
show cargo build -vv
expect "clbake: 1 program(s): "

step "2. a kernel with an error fails the build, naming file and line"
printf '__kernel void broken(__global float* x) {\n\n    x[0] = undefined_thing;\n}\n' >kernels/broken.cl
show_status 101 cargo build
expect "broken.cl:3"
expect "undefined_thing"
rm kernels/broken.cl

step "3. typed calls: a buffer created ReadOnly where the kernel writes is a compile error"
sed -i 's/Buffer::<f32, WriteOnly>::new(&session, n)/Buffer::<f32, ReadOnly>::new(\&session, n)/' src/main.rs
grep -q 'Buffer::<f32, ReadOnly>::new' src/main.rs || fail "could not edit src/main.rs"
show_status 101 cargo build
expect "the kernel writes this argument, but it was created"
guide_file hello/src/main.rs src/main.rs
show cargo build

# ---- 4. The finished example -------------------------------------------------------------------
step "4. the finished example: variants, __local, float4, half"
new_crate hello-kernels
APP=$PWD
cp "$REPO/examples/hello-kernels/build.rs" build.rs
mkdir kernels
cp "$REPO/examples/hello-kernels/kernels/"*.cl "$REPO/examples/hello-kernels/kernels/"*.h kernels/
cp "$REPO/examples/hello-kernels/src/main.rs" src/main.rs
grep -q '^// clbake:variant sum -DOP_SUM$' kernels/reduce.cl || fail "reduce.cl lost its variant lines"
grep -qF 'k.reduce(variant).reduce(session.queue(), [GROUPS * LOCAL], Some([LOCAL]), input, &mut partial, Local::new(LOCAL), N as i32)?;' src/main.rs \
    || fail "the example's reduce call is not the one section 4 quotes"
BIN=$CARGO_TARGET_DIR/debug/hello-kernels
show cargo run
expect "saxpy        n=100003"
expect_count 5 "  ok"
expect "(4 embedded, 0 cache, 0 source)"

# ---- 5. An existing kernel library ---------------------------------------------------------------
step "5. a kernel library: the files of section 5, and the clbake bake --kernels survey"
new_crate imglib
LIB=$PWD
LIB_BIN=$CARGO_TARGET_DIR/debug/imglib
guide_file imglib/cl_kernels/include/helpers.h cl_kernels/include/helpers.h
guide_file imglib/cl_kernels/imgproc/boxFilter.cl cl_kernels/imgproc/boxFilter.cl
guide_file imglib/cl_kernels/imgproc/stats.cl cl_kernels/imgproc/stats.cl
mkdir -p cl_kernels/experimental
printf '__kernel void wip(__global float* x) {\n    x[0] = not_written_yet;\n}\n' >cl_kernels/experimental/wip.cl
show_status 1 clbake bake --kernels cl_kernels -I cl_kernels/include --keep-going -o "$TMP/survey.clbk"
expect "no kernel \`boxFilter\` in this file"
expect "experimental/wip.cl:2:12: use of undeclared identifier 'not_written_yet'"
expect "program \`imgproc/stats\`, kernel \`stats\` gets no typed method: parameter \`out\`: \`struct Stats*\`: struct types are not supported"
expect "1 compiled, 0 reused from the previous bake, 0 from precompiled bundles, 2 failed"
show clbake bake --kernels cl_kernels -I cl_kernels/include --program-options 'imgproc/boxFilter=-D T=float' --exclude 'experimental/*' -o "$TMP/survey.clbk"
expect "0 failed"
expect "1 launch warmed"

step "5. the library's build.rs (Builder) and main.rs (typed calls through macro-built parameters)"
guide_file imglib/build.rs build.rs
guide_file imglib/src/main.rs src/main.rs
show cargo run
expect "warning: imglib@0.1.0: program \`imgproc/stats\`, kernel \`stats\` gets no typed method"
expect "boxFilter row 0: [0.33333334, 1.0, 2.0, 3.0]"
expect "scale: [0.0, 0.5, 1.0, 1.5]"
expect "(2 embedded, 0 cache, 0 source)"
expect "  imgproc/boxFilter    embedded"
show clbake inspect "$LIB_BIN"
expect "[0] imgproc/boxFilter  options \"-D T=float\""
expect "kernel boxFilter(__global const float* src_ptr, int src_step, __global float* dst_ptr, int dst_step, int cols, int rows)"

step "5. keep_going(true): the broken file is a warning, the rest is baked"
sed -i 's|\.exclude("experimental/\*")|.keep_going(true)|' build.rs
grep -q 'keep_going(true)' build.rs || fail "could not edit build.rs"
show cargo run
expect "program \`experimental/wip\` failed"
expect "(2 embedded, 0 cache, 0 source)"
guide_file imglib/build.rs build.rs

step "5. deny_untyped(true): a kernel without a typed method fails the build"
sed -i 's|\.run_or_exit()|.deny_untyped(true).run_or_exit()|' build.rs
show_status 101 cargo build
expect "1 kernel(s) get no typed method"
guide_file imglib/build.rs build.rs

step "5. without its per-program options boxFilter has no kernel: the launch line says so"
sed -i '/with_program_options/d' build.rs
show_status 101 cargo build
expect "no kernel \`boxFilter\` in this file"
guide_file imglib/build.rs build.rs

# ---- 6. Directives ------------------------------------------------------------------------------
step "6. a // clbake:tune line, clbake bake --tune into precompiled/, rebuilt: the tuning table is embedded"
TUNE_LINE=$(guide_line "// clbake:tune boxFilter ")
sed -i "\|^// clbake:launch boxFilter |a $TUNE_LINE" cl_kernels/imgproc/boxFilter.cl
grep -qF -- "$TUNE_LINE" cl_kernels/imgproc/boxFilter.cl || fail "could not add the tune line"
mkdir -p cl_kernels/precompiled
show clbake bake --kernels cl_kernels -I cl_kernels/include --program-options 'imgproc/boxFilter=-D T=float' \
    --exclude 'experimental/*' --tune -o cl_kernels/precompiled/host.clbk
expect "tuning imgproc/boxFilter  boxFilter          global [1024, 64]"
show env CLBAKE_BAKE=off cargo run
expect "(2 embedded, 0 cache, 0 source)"
show clbake inspect "$LIB_BIN"
expect "tuning records (1):"
rm -r cl_kernels/precompiled
guide_file imglib/cl_kernels/imgproc/boxFilter.cl cl_kernels/imgproc/boxFilter.cl

step "6. launch lines: warm code and known answers in the example's binaries"
cd "$APP"
show clbake inspect "$BIN"
expect "specialised: saxpy/64-1-1"
expect "specialised: reduce/64-1-1"
expect "known answer: saxpy [100032], 1 output(s)"
expect "known answer: reduce [2048], 1 output(s)"
show clbake bake --kernels kernels --no-warm --full -o "$TMP/nowarm.clbk"
show clbake inspect "$TMP/nowarm.clbk"
expect_not "known answer:"
expect_not "specialised: saxpy"

# ---- 7./8. The load report, run-time variables, the disk cache -----------------------------------
step "7. the load report: CLBAKE_EMBEDDED=off, CLBAKE_CACHE_DIR, CLBAKE_DEVICE, CLBAKE_JOBS, CLBAKE_CHECK, CLBAKE_LOG"
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=off cargo run
expect "(0 embedded, 0 cache, 4 source)"
expect "all programs: embedded missed: disabled"
expect "all programs: cache missed: disabled"
expect "compiled from source on"                   # the one stderr line without a logger
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=off CLBAKE_LOG=off "$BIN"
expect_not "compiled from source on"
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR="$TMP/hello-cache" cargo run
expect "(0 embedded, 0 cache, 4 source)"
expect "cache missed: no cache entry yet"
expect "saxpy stored: $TMP/hello-cache/"
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR="$TMP/hello-cache" cargo run
expect "(0 embedded, 4 cache, 0 source)"
show env CLBAKE_DEVICE=0 CLBAKE_JOBS=1 CLBAKE_CHECK=off "$BIN"
expect "(4 embedded, 0 cache, 0 source)"

step "8. the disk cache: ls, verify, prune, clear; known answers remembered next to it"
show clbake cache --dir "$TMP/hello-cache" ls
expect "ok  "
expect "saxpy"
show clbake cache --dir "$TMP/hello-cache" verify
show env CLBAKE_CACHE_DIR="$TMP/hello-cache" "$BIN"
expect "(4 embedded, 0 cache, 0 source)"
show clbake cache --dir "$TMP/hello-cache" ls
expect "known answers checked: "                    # replayed once on this device, not again
show clbake cache --dir "$TMP/hello-cache" prune --max-bytes 64M --max-age-days 7
show clbake cache --dir "$TMP/hello-cache" --json ls
expect '"entries"'
show clbake cache --dir "$TMP/hello-cache" clear
show clbake cache --dir "$TMP/hello-cache" ls
expect "0 entries"
show env CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR="$TMP/small-cache" CLBAKE_CACHE_MAX_BYTES=100K "$BIN"
show clbake cache --dir "$TMP/small-cache" ls
expect "1 entries"                                  # pruned to 100K when entries were written

# ---- 9. The edit-rebuild loop ---------------------------------------------------------------------
step "9. a comment edit compiles nothing; a token edit compiles one program; bake --out reuses unless --full"
printf '// a comment at the end, and some blank lines\n\n\n' >>kernels/saxpy.cl
show cargo build -vv
expect "4 program(s): 0 compiled, 4 reused from the previous bake"
sed -i 's/out\[i\] = a \* x\[i\] + y\[i\];/out[i] = fma(a, x[i], y[i]);/' kernels/saxpy.cl
grep -q fma kernels/saxpy.cl || fail "could not edit saxpy.cl"
show cargo build -vv
expect "clbake: [4/4] saxpy "
expect "4 program(s): 1 compiled, 3 reused from the previous bake"
cp "$REPO/examples/hello-kernels/kernels/saxpy.cl" kernels/saxpy.cl
show cargo build
show clbake bake --kernels kernels -o "$TMP/kernels.clbk"
expect "4 compiled, 0 reused"
show clbake bake --kernels kernels -o "$TMP/kernels.clbk"
expect "0 compiled, 4 reused"
show clbake bake --kernels kernels --full --jobs 1 -o "$TMP/kernels.clbk"
expect "4 compiled, 0 reused"

# ---- 10. Look inside ------------------------------------------------------------------------------
step "10. look inside the executable: only its own programs"
show clbake inspect "$BIN"
expect "programs (4):"
expect "binaries (4):"
expect 'reduce_max         options "-DOP_MAX"'
expect "process x86_64/64"
printf '$ clbake inspect --json %s | head -n 20\n' "$BIN" >&2
OUT=$(clbake inspect --json "$BIN" | head -n 20) || true   # 141 (SIGPIPE) when head leaves first
expect '"source": "section .clbake"'
if clbake inspect --json "$BIN" | grep -q '"conv2d'; then fail "clbake's own kernels are embedded in the example"; fi
# A reader that goes away early: the tool must end quietly (no panic on a broken pipe).
err=$( { clbake inspect "$BIN" | head -n 1 >/dev/null || true; } 2>&1 )
[ -z "$err" ] || fail "clbake inspect | head printed: $err"

# ---- 11. Build-time variables -------------------------------------------------------------------
step "11. build-time variables: CLBAKE_BAKE=off / host, CLBAKE_ZSTD_LEVEL, CLBAKE_JOBS, CLBAKE_WARM, CLBAKE_CHECK"
show env CLBAKE_BAKE=off cargo build
expect "CLBAKE_BAKE=off: embedding kernel sources only"
show "$BIN"
expect "(0 embedded, 0 cache, 4 source)"
expect "no binary in the bundle"
show env CLBAKE_BAKE=host CLBAKE_JOBS=1 CLBAKE_ZSTD_LEVEL=3 cargo build
show "$BIN"
expect "(4 embedded, 0 cache, 0 source)"
show env CLBAKE_WARM=off CLBAKE_CHECK=off cargo build
show cargo build
show_status 101 env CLBAKE_BAKE=host OCL_ICD_VENDORS="$TMP/no-vendors" cargo build
expect "CLBAKE_BAKE=host but no OpenCL device is usable"
show_status 101 env CLBAKE_ZSTD_LEVEL=lots cargo build
expect 'CLBAKE_ZSTD_LEVEL="lots" is not valid'

# ---- 14. (on one machine) bake, copy to kernels/precompiled/, rebuild ----------------------
step "14. bake from the executable, copy into kernels/precompiled/, rebuild without compiling"
mkdir -p kernels/precompiled
show clbake bake --from "$BIN" -o kernels/precompiled/host.clbk
expect "[4/4]"
show clbake bake --json --from "$BIN" -o "$TMP/again.clbk"
expect '"binaries": 4'
show env CLBAKE_BAKE=off cargo build
show "$BIN"
expect "(4 embedded, 0 cache, 0 source)"
step "14. change a kernel: the precompiled binary is stale, with a warning naming the bundle"
sed -i 's/out\[i\] = a \* x\[i\] + y\[i\];/out[i] = fma(a, x[i], y[i]);/' kernels/saxpy.cl
grep -q fma kernels/saxpy.cl || fail "could not edit saxpy.cl"
show env CLBAKE_BAKE=off cargo build
expect "host.clbk: skipped 1 stale entry for"
expect "): saxpy"
show "$BIN"
expect "(3 embedded, 0 cache, 1 source)"
expect "saxpy: embedded missed: no binary in the bundle"
cp "$REPO/examples/hello-kernels/kernels/saxpy.cl" kernels/saxpy.cl
rm -r kernels/precompiled
show cargo build

# ---- 13. Try a board's bundle: clbake demo --bundle ------------------------------------------------
step "13. clbake demo --bundle: a self-baked bundle of clbake's kernel library, then one of other programs"
show clbake bake -o "$TMP/clbake-kernels.clbk"
expect "wrote $TMP/clbake-kernels.clbk"
show clbake demo --bundle "$TMP/clbake-kernels.clbk" --images 50
expect "accuracy"
expect "embedded"
show_status 1 clbake demo --bundle "$TMP/again.clbk"
expect "not a bundle of the demo's 14 programs"

# ---- 13./14. scp to a board and bake there (a local sshd stands in for the board) -----------
step "13.-14. bake on the board over ssh (clbake bake --remote, by hand, clbake on the board), rebuild, scp, run"
if [ -x /usr/sbin/sshd ] && command -v scp >/dev/null && command -v ssh >/dev/null; then
    "$REPO/scripts/sshd.sh" start "$SSH_DIR" "$PORT"
    S=(-F "$SSH_DIR/ssh_config")
    BOARD=$TMP/board
    mkdir -p "$BOARD"
    # One command: scp the app, run its --clbake-bake over ssh, bring the bundle home.
    show clbake bake --remote clbake-test --ssh-config "$SSH_DIR/ssh_config" --runner "env POCL_KERNEL_CACHE=0" --from "$BIN"
    [ -f kernels/precompiled/clbake-test.clbk ] || fail "clbake bake --remote did not write kernels/precompiled/clbake-test.clbk"
    show clbake inspect kernels/precompiled/clbake-test.clbk
    expect "binaries (4):"
    rm -r kernels/precompiled
    # By hand: the app bakes itself on the board.
    show scp "${S[@]}" "$BIN" "clbake-test:$BOARD/"
    show ssh "${S[@]}" clbake-test "cd $BOARD && POCL_KERNEL_CACHE=0 ./hello-kernels --clbake-bake board.clbk"
    expect "[4/4]"
    # With the clbake tool on the board.
    show scp "${S[@]}" "$(command -v clbake)" "clbake-test:$BOARD/"
    show ssh "${S[@]}" clbake-test "cd $BOARD && POCL_KERNEL_CACHE=0 ./clbake bake --from ./hello-kernels -o board.clbk"
    expect "wrote board.clbk"
    mkdir -p kernels/precompiled
    show scp "${S[@]}" "clbake-test:$BOARD/board.clbk" kernels/precompiled/
    show env CLBAKE_BAKE=off cargo build
    show clbake inspect "$BIN"
    expect "binaries (4):"
    show scp "${S[@]}" "$BIN" "clbake-test:$BOARD/"
    show ssh "${S[@]}" clbake-test "cd $BOARD && CLBAKE_CACHE_DIR=off POCL_KERNEL_CACHE=0 ./hello-kernels"
    expect "(4 embedded, 0 cache, 0 source)"
    "$REPO/scripts/sshd.sh" stop "$SSH_DIR"
    rm -r kernels/precompiled
    show cargo build
else
    skip "scp/ssh round trip: no /usr/sbin/sshd or ssh client (scripts/setup-host.sh installs them)"
fi

# ---- 15. A second driver: Oclgrind -----------------------------------------------------------------
step "15. Oclgrind as a second driver: an OCL_ICD_VENDORS folder, a fingerprint mismatch, a build for both"
OCLGRIND=/usr/lib/oclgrind/liboclgrind-rt-icd.so
if [ -e "$OCLGRIND" ] && ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    V=$TMP/ocl-vendors
    mkdir -p "$V" && cp /etc/OpenCL/vendors/*.icd "$V/"
    echo "$OCLGRIND" >"$V/oclgrind.icd"
    show env OCL_ICD_VENDORS="$V" clbake devices
    expect "Oclgrind Simulator"
    OG=$(sed -n 's/^device \([0-9]*\): Oclgrind Simulator.*/\1/p' <<<"$OUT")
    OTHER=$(sed -n 's/^device \([0-9]*\): .*/\1/p' <<<"$OUT" | grep -vx "$OG" | head -n 1)
    [ -n "$OG" ] && [ -n "$OTHER" ] || fail "could not read the device indices"
    show env OCL_ICD_VENDORS="$V" CLBAKE_DEVICE="$OG" "$TMP/hello-pocl"
    expect "(0 embedded, 0 cache, 1 source)"
    expect "embedded missed: no binary for this device; closest differs in platform_name"
    cd "$HELLO"
    show env OCL_ICD_VENDORS="$V" cargo build
    for d in "$OG" "$OTHER"; do
        show env OCL_ICD_VENDORS="$V" CLBAKE_DEVICE="$d" "$HELLO_BIN"
        expect "out[10] = 21"
        expect "(1 embedded, 0 cache, 0 source)"
    done
    show cargo build
    cd "$APP"
else
    skip "Oclgrind: $OCLGRIND or /etc/OpenCL/vendors/*.icd missing (scripts/setup-host.sh installs oclgrind)"
fi

# ---- 16. include_model! with a wrong path -----------------------------------------------------
step "16. include_model! with a wrong path is a compile error naming the path"
cp src/main.rs "$TMP/main.rs.orig"
printf '\nmod weights {\n    clbake::include_model!("models/net.safetensors");\n}\n' >>src/main.rs
show_status 101 cargo build
expect "cannot read model $APP/models/net.safetensors"
cp "$TMP/main.rs.orig" src/main.rs

# ---- 17.-18. The tool: help, exit codes, error lines ----------------------------------------
step "17. help, the variables, exit codes"
show clbake --help
expect "CLBAKE_CACHE_MAX_AGE_DAYS"
expect "Exit codes:"
for verb in devices inspect bake demo cache; do
    show clbake "$verb" --help
    expect "Exit codes:"
done
show_status 2 clbake no-such-verb
step "18. error lines: no device, no runtime, wrong device, bad variable, compile error, damaged bundle, not a bundle"
show_status 1 env OCL_ICD_VENDORS=/nonexistent clbake devices
expect "error: no OpenCL device found"
mkdir -p "$TMP/no-opencl" && : >"$TMP/no-opencl/libOpenCL.so.1"
show_status 1 env LD_LIBRARY_PATH="$TMP/no-opencl" clbake devices
expect "error: no OpenCL runtime"
show_status 1 env CLBAKE_DEVICE=99 "$BIN"
expect "error: OpenCL device 99 does not exist: 1 device(s) found"
show_status 1 env CLBAKE_JOBS=lots "$BIN"
expect 'error: CLBAKE_JOBS="lots" is not valid: expected a number, 0 = automatic'
mkdir -p "$TMP/oops" && printf '__kernel void k(__global float* x) {\n  x[0] = nope;\n}\n' >"$TMP/oops/oops.cl"
show_status 1 clbake bake --kernels "$TMP/oops" -o "$TMP/oops.clbk"
expect "error: 1 program(s) cannot be baked"
expect "oops.cl:2:10: use of undeclared identifier 'nope'"
show clbake bake --from "$BIN" -o "$TMP/board.clbk"
head -c 1000 "$TMP/board.clbk" >"$TMP/cut.clbk"
show_status 1 clbake inspect "$TMP/cut.clbk"
expect "the file is damaged or cut short"
echo hello >"$TMP/notes.txt"
show_status 1 clbake inspect "$TMP/notes.txt"
expect "no clbake bundle found"

# ---- 12.-14. Cross builds and the emulated aarch64 board (GUIDE_CHECK_CROSS=1) --------------
if [ "${GUIDE_CHECK_CROSS:-0}" = 1 ]; then
    step "12. cross-build for aarch64 and armv7"
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
    step "12. an armv7 board without an OpenCL runtime (plain qemu-arm): one line, exit 1"
    show_status 1 qemu-arm-static -L /usr/arm-linux-gnueabihf "$CARGO_TARGET_DIR/armv7-unknown-linux-gnueabihf/release/hello-kernels"
    expect "error: no OpenCL runtime"
    step "12. glibc the board needs; a build against glibc 2.28 with cargo-zigbuild"
    show "$REPO/scripts/check-glibc.sh" "$A64"
    show "$REPO/scripts/setup-zig.sh"
    show cargo zigbuild --release --target aarch64-unknown-linux-gnu.2.28 --target-dir "$T/zig"
    show "$REPO/scripts/check-glibc.sh" "$T/zig/aarch64-unknown-linux-gnu/release/hello-kernels" 2.28

    step "12. the emulated aarch64 board: first run compiles from source"
    show "$REPO/scripts/aarch64-sysroot.sh"
    show env CLBAKE_CACHE_DIR=off "$REPO/scripts/run-aarch64.sh" "$A64"
    expect "(0 embedded, 0 cache, 4 source)"
    expect "embedded missed: no binary in the bundle"

    step "13. bake on the emulated board: the app's own --clbake-bake"
    mkdir -p kernels/precompiled
    show "$REPO/scripts/run-aarch64.sh" "$A64" --clbake-bake kernels/precompiled/pocl-aarch64.clbk
    expect "[4/4]"

    step "14. rebuild for aarch64: the board's binaries are embedded"
    show cargo build --release --target aarch64-unknown-linux-gnu
    show clbake inspect "$A64"
    expect "binaries (4):"
    show env CLBAKE_CACHE_DIR=off "$REPO/scripts/run-aarch64.sh" "$A64"
    expect "(4 embedded, 0 cache, 0 source)"
    rm -r kernels/precompiled
else
    skip "sections 12-14 on the emulated aarch64 board and armv7: set GUIDE_CHECK_CROSS=1"
fi

printf '\n[guide-check] OK: %s steps passed' "$steps" >&2
if [ "${#skipped[@]}" -gt 0 ]; then
    printf '; skipped:\n' >&2
    printf '  - %s\n' "${skipped[@]}" >&2
else
    printf '\n' >&2
fi
