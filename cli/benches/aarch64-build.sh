#!/usr/bin/env bash
# Cross-builds what the aarch64 start-up rows need, for scripts/bench-report.sh:
#   - the clbake CLI for aarch64 with aarch64 PoCL binaries embedded, and
#   - the startup bench for aarch64 (its floor child runs under qemu too).
#
# Usage: cli/benches/aarch64-build.sh OUT_JSON
#   writes {"clbake": PATH, "bench": PATH, "bundle": PATH, ...} to OUT_JSON, or
#   {"skipped": "why"} when the cross toolchain, qemu or the sysroot is missing (exit 0).
#
# How: a cross build embeds binaries only from kernels/precompiled/*.clbk (it cannot run
# aarch64 code at build time). So: copy the working tree to <target>/bench/aarch64/src (the
# repository's own cli/kernels/precompiled/ stays untouched), cross-build clbake there, let it
# bake its embedded sources on the emulated aarch64 PoCL device (`clbake bake` under
# scripts/run-aarch64.sh, PoCL kernel cache off and empty), put that bundle into the copy's
# cli/kernels/precompiled/ and cross-build again. The bake is redone only when the kernel sources,
# the sysroot or clbake-core's sources change.
set -euo pipefail

log() { printf '[aarch64-build] %s\n' "$*" >&2; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:?usage: cli/benches/aarch64-build.sh OUT_JSON}
T=${CARGO_TARGET_DIR:-$REPO/target}
export CARGO_TARGET_DIR=$T
W=$T/bench/aarch64
SRC=$W/src
TRIPLE=aarch64-unknown-linux-gnu
PYTHON=${PYTHON:-python3}

skip() {
    log "skipped: $*"
    "$PYTHON" -c 'import json,sys; json.dump({"skipped": sys.argv[1]}, open(sys.argv[2], "w"))' "$*" "$OUT"
    exit 0
}

command -v qemu-aarch64-static >/dev/null 2>&1 || skip "qemu-aarch64-static not found (scripts/setup-host.sh)"
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || skip "aarch64-linux-gnu-gcc not found (scripts/setup-host.sh)"
rustup target list --installed 2>/dev/null | grep -qx "$TRIPLE" || skip "rust target $TRIPLE not installed (scripts/setup-host.sh)"
"$REPO/scripts/aarch64-sysroot.sh" >&2 || skip "scripts/aarch64-sysroot.sh failed"
SYSROOT=${CLBAKE_AARCH64_SYSROOT:-$REPO/.sysroot/aarch64}

# 1. A copy of the working tree: tracked and untracked-but-not-ignored files, synced with
#    mtimes kept (only changed files copied, vanished ones removed) so that cargo sees
#    unchanged files, and directories, as unchanged.
mkdir -p "$SRC"
(cd "$REPO" && git ls-files -co --exclude-standard -z) | "$PYTHON" -c '
import os, shutil, sys
repo, dst = sys.argv[1], sys.argv[2]
files = [f for f in sys.stdin.read().split("\0") if f and os.path.isfile(os.path.join(repo, f))]
want = set(files)
for f in files:
    s, d = os.path.join(repo, f), os.path.join(dst, f)
    st = os.stat(s)
    try:
        dt = os.stat(d)
        if dt.st_size == st.st_size and int(dt.st_mtime) == int(st.st_mtime):
            continue
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(d), exist_ok=True)
    shutil.copy2(s, d)
for root, dirs, names in os.walk(dst):
    for n in names:
        rel = os.path.relpath(os.path.join(root, n), dst)
        if rel not in want and rel != "cli/kernels/precompiled/pocl-aarch64.clbk":
            os.remove(os.path.join(root, n))
' "$REPO" "$SRC"
[ -f "$SRC/Cargo.toml" ] || skip "could not copy the working tree to $SRC"

# 2. Bake on the emulated device when the kernels or the sysroot changed.
# What the bake depends on: the kernels, the sysroot, and clbake-core's bake code (which
# launches it runs before capturing, for one).
hash=$( (cd "$SRC/cli/kernels" && find . -name '*.cl' -o -name '*.h' | sort | xargs cat; head -n1 "$SYSROOT/.clbake-sysroot" 2>/dev/null; find "$SRC/core/src" -name '*.rs' | sort | xargs cat) | sha256sum | cut -c1-16)
BUNDLE=$W/pocl-aarch64.clbk
bake_s=null
if [ ! -f "$BUNDLE" ] || [ "$(cat "$W/bake.stamp" 2>/dev/null)" != "$hash" ]; then
    log "cross-building clbake (sources only) to bake on the emulated device"
    rm -f "$SRC/cli/kernels/precompiled/pocl-aarch64.clbk"
    (cd "$SRC" && cargo build --release --target "$TRIPLE" -p clbake-cli --bin clbake) >&2
    rm -rf "$W/pocl-bake"
    mkdir -p "$W/pocl-bake"
    log "baking under qemu (takes a while: every program compiles on emulated aarch64 PoCL)"
    t0=$(date +%s.%N)
    POCL_KERNEL_CACHE=0 CLBAKE_AARCH64_POCL_CACHE_DIR="$W/pocl-bake" \
        "$REPO/scripts/run-aarch64.sh" "$T/$TRIPLE/release/clbake" bake --out "$BUNDLE.tmp" >&2
    mv "$BUNDLE.tmp" "$BUNDLE"
    bake_s=$(echo "$(date +%s.%N) - $t0" | bc)
    echo "$hash" > "$W/bake.stamp"
else
    log "reusing $BUNDLE (kernels and sysroot unchanged)"
fi
cmp -s "$BUNDLE" "$SRC/cli/kernels/precompiled/pocl-aarch64.clbk" 2>/dev/null || cp -p "$BUNDLE" "$SRC/cli/kernels/precompiled/pocl-aarch64.clbk"

# 3. Build again, now embedding the aarch64 binaries; and the startup bench for the floor.
log "cross-building clbake and the startup bench with the aarch64 bundle embedded"
t0=$(date +%s.%N)
(cd "$SRC" && cargo build --release --target "$TRIPLE" -p clbake-cli --bin clbake) >&2
bench=$(cd "$SRC" && cargo bench -p clbake-cli --no-run --target "$TRIPLE" --bench startup --message-format=json 2>/dev/null \
    | "$PYTHON" "$REPO/scripts/cargo-artifact.py" startup || true)
build_s=$(echo "$(date +%s.%N) - $t0" | bc)
[ -n "$bench" ] || skip "cargo bench --no-run --target $TRIPLE printed no startup executable"
"$PYTHON" - "$OUT" "$T/$TRIPLE/release/clbake" "$bench" "$BUNDLE" "$bake_s" "$build_s" <<'EOF'
import json, sys
out, clbake, bench, bundle, bake_s, build_s = sys.argv[1:]
json.dump({"clbake": clbake, "bench": bench, "bundle": bundle,
           "bake_s": None if bake_s == "null" else float(bake_s), "build_s": float(build_s)},
          open(out, "w"), indent=1)
EOF
log "wrote $OUT"
