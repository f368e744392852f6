#!/usr/bin/env bash
# Cross-built deployments, end to end (called by scripts/test.sh; CI runs it):
#   1. cargo zigbuild --release of the `clbake` binary for aarch64 and armv7, glibc pinned to
#      2.28 (scripts/check-glibc.sh checks each artifact);
#   2. clbake-core's unit tests (no OpenCL) for both targets under qemu-user, linked with
#      Debian's cross gccs (.cargo/config.toml runners);
#   3. armv7 under qemu-arm: `inspect` reads the binary's own bundle; `devices` and `demo`
#      fail with one clear line (no OpenCL runtime there), no panic;
#   4. aarch64 under qemu with the arm64 PoCL sysroot (an emulated OpenCL device): the demo
#      compiles every program from source and is correct; `clbake bake` on that device writes
#      a bundle; `clbake bake --remote` does the same through a throwaway OpenSSH server on
#      127.0.0.1 with the aarch64 binary, the remote command run under qemu (--runner
#      scripts/run-aarch64.sh); in a temporary copy of the repo the bundle goes into
#      kernels/precompiled/, the next aarch64 build embeds it, the rebuilt binary loads every
#      program from the embedded binary and is correct; a comment added afterwards changes
#      nothing, a code edit makes the build skip that stale binary with a cargo warning;
#   5. the driver matrix (scripts/test-drivers.sh) with the aarch64 build on that device.
#
# Usage: scripts/test-cross.sh [--no-setup]
#   --no-setup   skip scripts/setup-host.sh / setup-zig.sh (they are idempotent and quick
#                when everything is installed; the sysroot step always runs, equally cheap)
# Env:   CLBAKE_CROSS_ZIG_TARGET_DIR  target dir of the zigbuild builds (default target/cross-zig)
#        CLBAKE_CROSS_TARGET_DIR      target dir of the gcc-linked test builds (default target/cross)
#        CARGO_TARGET_DIR             the host `clbake` that drives bake --remote (default target/)
#
# The real tree is never modified: the kernels/precompiled experiment runs in a copy under
# the zig target dir (kept between runs and synced, so rebuilds stay incremental).
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$REPO"

setup=1
for arg in "$@"; do
    case "$arg" in
        --no-setup) setup=0 ;;
        -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--no-setup]" >&2; exit 2 ;;
    esac
done

A64=aarch64-unknown-linux-gnu
ARM=armv7-unknown-linux-gnueabihf
GLIBC_MAX=2.28
ZIG_DIR=${CLBAKE_CROSS_ZIG_TARGET_DIR:-$REPO/target/cross-zig}
GCC_DIR=${CLBAKE_CROSS_TARGET_DIR:-$REPO/target/cross}
WORK=$ZIG_DIR/e2e
COPY=$WORK/repo
mkdir -p "$WORK/bin"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Variables that would change what the builds embed or which path the demo takes.
unset CLBAKE_BAKE CLBAKE_EMBEDDED CLBAKE_DEVICE CLBAKE_CACHE_DIR POCL_DEVICES OCL_ICD_VENDORS

# --- progress and timing -------------------------------------------------------------------
T_START=$(date +%s.%N)
STEP_NAME='' STEP_T0=''
TIMINGS=()
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
end_step() {
    if [ -n "$STEP_NAME" ]; then
        local s; s=$(secs "$STEP_T0" "$(now)")
        TIMINGS+=("$(printf '%7ss  %s' "$s" "$STEP_NAME")")
        printf '[test-cross] done in %s s: %s\n' "$s" "$STEP_NAME"
    fi
    STEP_NAME=''
}
step() {
    end_step
    STEP_NAME=$*
    STEP_T0=$(now)
    printf '\n==> [test-cross] %s\n' "$*"
}
log() { printf '[test-cross] %s\n' "$*"; }
die() {
    printf '[test-cross] FAIL (%s): %s\n' "${STEP_NAME:-setup}" "$*" >&2
    exit 1
}
# Echoes a command on stderr (stdout may be captured), then runs it.
run() { printf '[test-cross] $ %s\n' "$*" >&2; "$@"; }

SSHD_DIR=''
cleanup() {
    local rc=$?
    if [ -n "$SSHD_DIR" ]; then "$REPO/scripts/sshd.sh" stop "$SSHD_DIR" >/dev/null 2>&1 || true; fi
    if [ "$rc" != 0 ]; then
        printf '[test-cross] FAILED (exit %s) in step: %s\n' "$rc" "${STEP_NAME:-?}" >&2
    fi
}
trap cleanup EXIT

# json FILE EXPR: evaluates a Python expression over the parsed JSON `j` and prints it.
json() { python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); r = eval(sys.argv[2]); print(r if not isinstance(r, (list, dict)) else json.dumps(r))' "$1" "$2"; }

# Runs the demo of an aarch64 binary on the emulated PoCL device; checks correctness and that
# every program came from EXPECTED_PATH (or, with a PROGRAM=PATH override, that one from PATH).
# Usage: check_demo BIN LABEL EXPECTED_PATH [PROGRAM=PATH]
check_demo() {
    local bin=$1 label=$2 want=$3 override=${4:-} out=$WORK/demo-$2.json
    POCL_KERNEL_CACHE=0 CLBAKE_CACHE_DIR=off \
        run "$REPO/scripts/run-aarch64.sh" "$bin" demo --json --eager >"$out" || die "demo of $label failed (exit $?)"
    python3 - "$out" "$want" "$override" <<'EOF' || die "demo of $label: wrong load paths or results (report: $out)"
import json, sys
j = json.load(open(sys.argv[1])); want = sys.argv[2]; override = sys.argv[3]
exp_prog, _, exp_path = override.partition("=")
progs = j["startup"]["programs"]["programs"]
bad = []
for p in progs:
    w = exp_path if p["name"] == exp_prog else want
    if p["path"] != w:
        bad.append(f'{p["name"]}: {p["path"]} (want {w})')
acc, ref, err = j["accuracy"], j["reference_accuracy"], j["max_abs_error"]
print(f"[test-cross]   {len(progs)} programs: " + ", ".join(f'{p["name"]}={p["path"]}' for p in progs))
print(f"[test-cross]   accuracy {acc} (reference {ref}), max |logit - reference| {err:.2e}, "
      f"argmax agreement {j['argmax_agreement']}/{j['images']}")
ok = True
if bad: print("[test-cross]   unexpected load paths: " + "; ".join(bad)); ok = False
if acc != ref or err > 1e-4 or j["argmax_agreement"] != j["images"]:
    print("[test-cross]   results disagree with the reference"); ok = False
if exp_prog and not any(p["name"] == exp_prog for p in progs):
    print(f"[test-cross]   no program {exp_prog}"); ok = False
sys.exit(0 if ok else 1)
EOF
}

# qemu-user with the cross libc only (no OpenCL): for `inspect` and the no-runtime checks.
A64_QEMU=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
ARM_QEMU=(qemu-arm-static -L /usr/arm-linux-gnueabihf)

# --- 0. prerequisites ----------------------------------------------------------------------
step "0. prerequisites (setup-host, setup-zig, arm64 PoCL sysroot)"
if [ "$setup" = 1 ]; then
    run bash scripts/setup-host.sh
    run bash scripts/setup-zig.sh
fi
for tool in cargo-zigbuild qemu-aarch64-static qemu-arm-static aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run scripts/setup-host.sh and scripts/setup-zig.sh"
done
run bash scripts/aarch64-sysroot.sh

# --- 1. glibc-pinned release builds --------------------------------------------------------
for t in $A64 $ARM; do
    step "1. cargo zigbuild --release --target $t.$GLIBC_MAX -p clbake-cli --bin clbake"
    run cargo zigbuild --release --target "$t.$GLIBC_MAX" -p clbake-cli --bin clbake --target-dir "$ZIG_DIR"
    bin=$ZIG_DIR/$t/release/clbake
    [ -x "$bin" ] || die "no binary at $bin"
    cp "$bin" "$WORK/bin/clbake-$t"
    run scripts/check-glibc.sh "$WORK/bin/clbake-$t" "$GLIBC_MAX" || die "$t binary needs a glibc newer than $GLIBC_MAX"
    log "$(file -b "$WORK/bin/clbake-$t" | cut -d, -f1-2), $(stat -c %s "$WORK/bin/clbake-$t") bytes"
done
BIN_A64=$WORK/bin/clbake-$A64
BIN_ARM=$WORK/bin/clbake-$ARM

# --- 2. tests that need no OpenCL, under qemu-user -----------------------------------------
for t in $ARM $A64; do
    step "2. cargo test -p clbake-core --lib --target $t (Debian cross gcc, qemu-user runner)"
    run cargo test -p clbake-core --lib --target "$t" --target-dir "$GCC_DIR"
done

# --- 3. armv7: no OpenCL there ------------------------------------------------------------
step "3. armv7 under qemu-arm: inspect works; devices and demo fail with one clear line"
run "${ARM_QEMU[@]}" "$BIN_ARM" inspect --json "$BIN_ARM" >"$WORK/inspect-armv7.json" || die "inspect of the armv7 binary failed"
rm -f "$WORK"/inspect-*.clbk.json
for f in cli/kernels/precompiled/*.clbk; do
    [ -e "$f" ] || continue
    "${ARM_QEMU[@]}" "$BIN_ARM" inspect --json "$f" >"$WORK/inspect-$(basename "$f").json" || die "armv7 inspect of $f failed"
done
python3 - "$WORK" <<'EOF' || die "the armv7 binary's bundle is not what a cross build should embed"
import glob, json, os, sys
work = sys.argv[1]
j = json.load(open(os.path.join(work, "inspect-armv7.json")))
b = j["bundles"][0]
pre = set()
for f in glob.glob(os.path.join(work, "inspect-*.clbk.json")):
    for bb in json.load(open(f))["bundles"]:
        pre |= {x["fingerprint_hash"] for x in bb["binaries"]}
emb = {x["fingerprint_hash"] for x in b["binaries"]}
devs = sorted({x["fingerprint"]["device_name"] for x in b["binaries"] if x.get("fingerprint")})
print(f"[test-cross]   {j['source']}: {len(b['programs'])} programs (sources), {len(b['binaries'])} precompiled binaries"
      + (f" for {', '.join(devs)}" if devs else " (sources only)"))
if not b["programs"]: print("[test-cross]   no programs embedded"); sys.exit(1)
# A cross build captures no host binary: everything embedded comes from kernels/precompiled/.
if not emb <= pre:
    print(f"[test-cross]   binaries for devices not in kernels/precompiled/ (host binaries?): {sorted(emb - pre)}"); sys.exit(1)
EOF
for cmd in devices demo; do
    set +e
    "${ARM_QEMU[@]}" "$BIN_ARM" "$cmd" >"$WORK/armv7-$cmd.out" 2>"$WORK/armv7-$cmd.err"
    rc=$?
    set -e
    log "armv7 \`clbake $cmd\`: exit $rc, stderr: $(cat "$WORK/armv7-$cmd.err")"
    [ "$rc" != 0 ] || die "armv7 \`clbake $cmd\` exited 0 without an OpenCL runtime"
    [ "$rc" -lt 100 ] || die "armv7 \`clbake $cmd\` crashed (exit $rc)"
    [ "$(wc -l <"$WORK/armv7-$cmd.err")" = 1 ] || die "armv7 \`clbake $cmd\`: want one line on stderr, got $(wc -l <"$WORK/armv7-$cmd.err")"
    grep -q 'no OpenCL runtime' "$WORK/armv7-$cmd.err" || die "armv7 \`clbake $cmd\`: the message does not say 'no OpenCL runtime'"
    ! grep -qi 'panicked' "$WORK/armv7-$cmd.err" || die "armv7 \`clbake $cmd\` panicked"
done

# --- 4. aarch64 end to end on the emulated PoCL device ------------------------------------
step "4a. aarch64 under qemu + PoCL sysroot: no aarch64 binary embedded -> demo compiles from source"
run "$REPO/scripts/run-aarch64.sh" "$BIN_A64" devices
check_demo "$BIN_A64" source source

step "4b. clbake bake --out (self-bake) on the emulated aarch64 device"
BAKED=$WORK/pocl-aarch64.clbk
rm -f "$BAKED"
run "$REPO/scripts/run-aarch64.sh" "$BIN_A64" bake --out "$BAKED" --json >"$WORK/bake-aarch64.json"
[ -s "$BAKED" ] || die "the bake wrote no $BAKED"
A64_FP=$(json "$WORK/bake-aarch64.json" 'j["devices"][0]["fingerprint_hash"]')
log "baked $(json "$WORK/bake-aarch64.json" 'len(j["programs"])') programs, $(stat -c %s "$BAKED") bytes, device $(json "$WORK/bake-aarch64.json" 'j["devices"][0]["description"]') ($A64_FP)"

# The remote bake runs right after the local one: PoCL's kernel cache (in the sysroot) then
# serves the same programs, where a later start from the embedded binaries with the cache off
# (4f, 4g) would have removed those entries.
step "4c. clbake bake --remote through OpenSSH on 127.0.0.1 with the aarch64 binary (--runner run-aarch64.sh)"
run cargo build -p clbake-cli --bin clbake --message-format=json-render-diagnostics >"$WORK/host-build.json"
HOST_BIN=$(scripts/cargo-artifact.py clbake <"$WORK/host-build.json") || die "no host clbake binary"
log "host clbake: $HOST_BIN"
SSHD_DIR=$WORK/sshd
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run scripts/sshd.sh start "$SSHD_DIR" "$PORT"
REMOTE_OUT=$WORK/remote-aarch64.clbk
rm -f "$REMOTE_OUT"
run "$HOST_BIN" bake --remote clbake-test --ssh-config "$SSHD_DIR/ssh_config" --from "$BIN_A64" \
    --runner "$REPO/scripts/run-aarch64.sh" --out "$REMOTE_OUT" --json >"$WORK/remote.json" || die "bake --remote failed"
"$HOST_BIN" inspect --json "$REMOTE_OUT" >"$WORK/inspect-remote.json" || die "the bundle from the remote bake does not parse"
python3 - "$WORK/inspect-remote.json" "$WORK/bake-aarch64.json" "$A64_FP" <<'EOF' || die "the remote bundle is not a full aarch64 bake"
import json, sys
j = json.load(open(sys.argv[1])); local = json.load(open(sys.argv[2])); fp = sys.argv[3]
b = j["bundles"][0]
names = [p["name"] for p in b["programs"]]
fps = {x["fingerprint_hash"] for x in b["binaries"]}
print(f"[test-cross]   remote bundle: {len(names)} programs, {len(b['binaries'])} binaries, devices {sorted(fps)}")
ok = names == local["programs"] and fps == {fp} and sorted(x["program"] for x in b["binaries"]) == sorted(names)
if not ok: print(f"[test-cross]   want programs {local['programs']} with one binary each for {fp}")
sys.exit(0 if ok else 1)
EOF
run scripts/sshd.sh stop "$SSHD_DIR"
SSHD_DIR=''

step "4d. temporary copy of the repo with the baked bundle in kernels/precompiled/"
# Sync tracked + untracked-not-ignored files (git ls-files; outside a git checkout: every file
# but build outputs) into $COPY, rewriting only changed ones (cargo keys rebuilds on mtimes)
# and removing files that are gone from the tree.
python3 - "$REPO" "$COPY" <<'EOF'
import os, shutil, subprocess, sys
src, dst = sys.argv[1], sys.argv[2]
def skip_dir(rel):
    top = rel.split(os.sep)[0]
    return top in (".git", ".sysroot", "target") or top.startswith("target-") or rel.endswith(os.sep + "target") or rel.startswith("fuzz" + os.sep + "corpus")
try:
    out = subprocess.run(["git", "-C", src, "ls-files", "-z", "-co", "--exclude-standard"], check=True, capture_output=True).stdout
    listed = out.decode().split("\0")
except (OSError, subprocess.CalledProcessError):
    listed = []
    for root, dirs, names in os.walk(src):
        dirs[:] = [d for d in dirs if not skip_dir(os.path.relpath(os.path.join(root, d), src))]
        listed += [os.path.relpath(os.path.join(root, n), src) for n in names]
files = {f for f in listed if f and os.path.isfile(os.path.join(src, f))}
copied = 0
for f in sorted(files):
    a, b = os.path.join(src, f), os.path.join(dst, f)
    try:
        same = open(a, "rb").read() == open(b, "rb").read()
    except OSError:
        same = False
    if not same:
        os.makedirs(os.path.dirname(b), exist_ok=True)
        shutil.copy2(a, b)
        copied += 1
removed = 0
for root, dirs, names in os.walk(dst):
    dirs[:] = [d for d in dirs if not (root == dst and (d == "target" or d.startswith("target-")))]
    for n in names:
        rel = os.path.relpath(os.path.join(root, n), dst)
        if rel not in files:
            os.remove(os.path.join(root, n)); removed += 1
print(f"[test-cross] synced {len(files)} files into {dst}: {copied} copied, {removed} removed")
EOF
cp "$BAKED" "$COPY/cli/kernels/precompiled/pocl-aarch64.clbk"
log "$COPY/cli/kernels/precompiled: $(cd "$COPY/cli/kernels/precompiled" && ls | tr '\n' ' ')"

# build_copy LABEL: zigbuild of the copy, build output in $WORK/build-LABEL.log; sets BIN_COPY.
build_copy() {
    local log=$WORK/build-$1.log
    printf '[test-cross] $ (cd %s && cargo zigbuild --release --target %s -p clbake-cli --bin clbake --target-dir %s)\n' "$COPY" "$A64.$GLIBC_MAX" "$ZIG_DIR"
    (cd "$COPY" && cargo zigbuild --release --target "$A64.$GLIBC_MAX" -p clbake-cli --bin clbake --target-dir "$ZIG_DIR") 2>&1 | tee "$log" \
        || die "build of the copy failed (log: $log)"
    BIN_COPY=$WORK/bin/clbake-$A64-$1
    cp "$ZIG_DIR/$A64/release/clbake" "$BIN_COPY"
}

# embedded_check BIN WANT_MISSING: the aarch64 device's binaries embedded in BIN are every
# program except WANT_MISSING (a comma-separated list, may be empty).
embedded_check() {
    "${A64_QEMU[@]}" "$BIN_A64" inspect --json "$1" >"$WORK/inspect-copy.json" || die "inspect of $1 failed"
    python3 - "$WORK/inspect-copy.json" "$A64_FP" "$2" "$WORK" <<'EOF' || die "the rebuilt binary does not embed the expected aarch64 binaries"
import glob, json, os, sys
j = json.load(open(sys.argv[1])); fp = sys.argv[2]; missing = set(filter(None, sys.argv[3].split(",")))
# Binaries of the repo's own kernels/precompiled/ bundles (read in step 3).
pre = {x["fingerprint_hash"] for f in glob.glob(os.path.join(sys.argv[4], "inspect-*.clbk.json"))
       for bb in json.load(open(f))["bundles"] for x in bb["binaries"]}
b = j["bundles"][0]
names = [p["name"] for p in b["programs"]]
have = {x["program"] for x in b["binaries"] if x["fingerprint_hash"] == fp}
print(f"[test-cross]   embedded: {len(names)} programs, {len(b['binaries'])} binaries, {len(have)} for the aarch64 PoCL device")
want = set(names) - missing
ok = have == want
if not ok: print(f"[test-cross]   aarch64 binaries for {sorted(have)}, want {sorted(want)}")
# The build script probed the host's PoCL (compile check) but captured nothing for it.
foreign = {x["fingerprint_hash"] for x in b["binaries"]} - pre - {fp}
if foreign: print(f"[test-cross]   binaries for devices neither baked nor precompiled (host binaries?): {sorted(foreign)}"); ok = False
sys.exit(0 if ok else 1)
EOF
}

step "4e. rebuild aarch64 from the copy: the build embeds the baked bundle"
build_copy embed
! grep -q 'pocl-aarch64.clbk: skipped' "$WORK/build-embed.log" || die "fresh bundle reported stale: $(grep 'pocl-aarch64.clbk: skipped' "$WORK/build-embed.log")"
embedded_check "$BIN_COPY" ""

step "4f. the rebuilt aarch64 binary loads every program from the embedded binary"
check_demo "$BIN_COPY" embedded embedded

step "4g. a comment edit after the bake: the precompiled binary stays fresh and embedded"
STALE_FILE=cli/kernels/softmax.cl STALE_PROGRAM=softmax
printf '\n// test-cross: a comment added after the bake (%s)\n' "$(date -u +%FT%TZ)" >>"$COPY/$STALE_FILE"
build_copy comment
! grep -q 'pocl-aarch64.clbk: skipped' "$WORK/build-comment.log" || die "a comment made the bundle stale: $(grep 'pocl-aarch64.clbk: skipped' "$WORK/build-comment.log")"
embedded_check "$BIN_COPY" ""

step "4h. a code edit after the bake: that binary is stale, skipped with a cargo warning"
cp "$REPO/$STALE_FILE" "$COPY/$STALE_FILE"
# A change the token stream sees: one more statement at the top of the first kernel body.
python3 - "$COPY/$STALE_FILE" <<'EOF'
import re, sys
p = sys.argv[1]; s = open(p).read()
s2 = re.sub(r"(__kernel[^{]*\{)", r"\1\n    barrier(CLK_LOCAL_MEM_FENCE);", s, count=1)
assert s2 != s, "no kernel body found"
open(p, "w").write(s2)
EOF
build_copy stale
grep 'warning: .*pocl-aarch64.clbk: skipped 1 stale entry' "$WORK/build-stale.log" || die "no cargo warning about the stale binary in $WORK/build-stale.log"
grep 'warning: .*pocl-aarch64.clbk: skipped' "$WORK/build-stale.log" | grep -q ": $STALE_PROGRAM\$" || die "the stale warning does not name $STALE_PROGRAM alone"
embedded_check "$BIN_COPY" "$STALE_PROGRAM"
check_demo "$BIN_COPY" stale embedded "$STALE_PROGRAM=source"
cp "$REPO/$STALE_FILE" "$COPY/$STALE_FILE"   # the next run's sync would do it too

step "5. the driver matrix on the emulated aarch64 PoCL (scripts/test-drivers.sh)"
run "$REPO/scripts/test-drivers.sh" "aarch64=$BIN_A64"

end_step
printf '\n[test-cross] all cross checks passed in %s s; step timings:\n' "$(secs "$T_START" "$(now)")"
printf '[test-cross] %s\n' "${TIMINGS[@]}"
