#!/usr/bin/env bash
# The benchmark report in one command: builds in release mode, runs every bench, writes
# BENCHMARKS.md and docs/bench-startup.png. 15 to 25 minutes on 2 cores once the build caches
# are warm; the first run in a target dir also builds every dependency for aarch64 and bakes on
# the emulated device (add 10 to 15 minutes), and a change to cli/kernels/ re-bakes (3 minutes).
#
# Usage: scripts/bench-report.sh [--quick] [--no-aarch64] [--no-model] [--no-devloop]
#   --quick       smoke run: 2 runs per row, models of 1 and 16 MiB, 32 synthetic programs,
#                 one run of each developer-loop step
#   --no-aarch64  skip the emulated aarch64 rows
#   --no-model    skip the model-size section (the slowest build)
#   --no-devloop  skip the developer loop (a cold build of examples/hello-kernels with all its
#                 dependencies in a temporary target dir, then rebuilds and cold bakes: 5-10 min)
# Env: CARGO_TARGET_DIR (default <repo>/target), BENCH_RUNS (5), BENCH_RUNS_AARCH64 (5),
#      BENCH_RUNS_AARCH64_SOURCE (2: a source start takes minutes under qemu),
#      BENCH_AARCH64_ROWS (a,d,d_jobs1,e,e_unwarmed), BENCH_MODEL_SIZES_MB (1,4,16,64,256,512),
#      BENCH_SYNTH_PROGRAMS (128), BENCH_DEVLOOP_RUNS (3), BENCH_DEVLOOP_LIBRARIES (kernel
#      directories to bake cold too; default: the Arm Compute Library of ../shared/corpus with
#      the defines its README gives, when present), PYTHON (python3).
#
# What it controls: each bench runs alone (they time start-up); PoCL's kernel cache is off in
# every timed process except where a row measures it. The builds here run with an empty
# POCL_CACHE_DIR and with OCL_ICD_VENDORS set (default /etc/OpenCL/vendors, the ICD loader's
# own default): OCL_ICD_VENDORS is one of the variables the build script tracks, so when the
# last build of this target dir did not set it, cargo re-runs the bake, now with an empty
# PoCL cache. Otherwise the embedded PoCL binaries would carry whatever work-group functions
# this machine's ~/.cache/pocl held for them (from earlier demo runs), and the first
# inference of row (d) would depend on the machine's history. Plain builds afterwards re-bake
# once (the variable changed back).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
log() { printf '[bench-report] %s\n' "$*" >&2; }

quick=0 aarch64=1 want_model=1 want_devloop=1
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --no-aarch64) aarch64=0 ;;
        --no-model) want_model=0 ;;
        --no-devloop) want_devloop=0 ;;
        -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) log "unknown argument: $arg (see --help)"; exit 2 ;;
    esac
done
if [ "$quick" = 1 ]; then
    export BENCH_RUNS=${BENCH_RUNS:-2} BENCH_RUNS_AARCH64=${BENCH_RUNS_AARCH64:-2} BENCH_RUNS_AARCH64_SOURCE=${BENCH_RUNS_AARCH64_SOURCE:-1}
    export BENCH_MODEL_SIZES_MB=${BENCH_MODEL_SIZES_MB:-1,16} BENCH_SYNTH_PROGRAMS=${BENCH_SYNTH_PROGRAMS:-32}
    export BENCH_DEVLOOP_RUNS=${BENCH_DEVLOOP_RUNS:-1}
fi

PYTHON=${PYTHON:-python3}
export PYTHON
T=${CARGO_TARGET_DIR:-$REPO/target}
mkdir -p "$T"
T=$(cd "$T" && pwd)
export CARGO_TARGET_DIR=$T
B=$T/bench
R=$B/results
rm -rf "$R"
mkdir -p "$R" "$REPO/docs"

export POCL_CACHE_DIR=$B/pocl-build-cache
rm -rf "$POCL_CACHE_DIR"
mkdir -p "$POCL_CACHE_DIR"
export OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
unset POCL_KERNEL_CACHE CLBAKE_EMBEDDED CLBAKE_JOBS CLBAKE_CACHE_DIR CLBAKE_DEVICE CLBAKE_BAKE

start=$(date +%s.%N)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
steps=()
step() {
    local name=$1
    shift
    log "== $name"
    local t0
    t0=$(date +%s.%N)
    "$@"
    steps+=("$name=$(echo "$(date +%s.%N) - $t0" | bc)")
}

# Paths of bench executables from `cargo bench --no-run --message-format=json`.
bench_exes() {
    cargo bench -p clbake-cli --no-run --bench startup --bench bundle --bench model --bench devloop --message-format=json \
        | "$PYTHON" "$REPO/scripts/cargo-artifact.py" --benches > "$B/bench-exes.txt"
}
exe() { awk -v n="$1" '$1 == n {print $2}' "$B/bench-exes.txt"; }

build_host() {
    cargo build --release -p clbake-cli
    bench_exes
}
step build build_host

A64="$R/aarch64-paths.json"
if [ "$aarch64" = 1 ]; then
    step aarch64-build "$REPO/cli/benches/aarch64-build.sh" "$A64"
else
    "$PYTHON" -c 'import json,sys; json.dump({"skipped": "--no-aarch64"}, open(sys.argv[1], "w"))' "$A64"
fi

# Timed processes must not inherit the build's PoCL cache directory.
unset POCL_CACHE_DIR
step startup "$(exe startup)" --clbake "$T/release/clbake" --aarch64 "$A64"

bundles=(--bundle "$T/release/clbake")
a64_bundle=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("bundle") or "")' "$A64")
[ -n "$a64_bundle" ] && [ -f "$a64_bundle" ] && bundles+=(--bundle "$a64_bundle")
step bundle "$(exe bundle)" "${bundles[@]}"

# The model bench builds (the generated crate, and the no-op rebuild of this package):
# same build environment as above.
export POCL_CACHE_DIR=$B/pocl-build-cache
if [ "$want_model" = 1 ]; then
    step model env BENCH_SECTIONS=model,rebuild "$(exe model)"
else
    step rebuild env BENCH_SECTIONS=rebuild "$(exe model)"
fi
unset POCL_CACHE_DIR

# The developer loop: builds of a copy of examples/hello-kernels (and of one with clbake's
# 14 programs) in their own temporary target dirs (PoCL kernel cache off, set by the bench),
# then cold bakes of cli/kernels and of the largest corpus library that compiles.
if [ "$want_devloop" = 1 ]; then
    acl=$REPO/../shared/corpus/computelibrary
    if [ -z "${BENCH_DEVLOOP_LIBRARIES+set}" ] && [ -d "$acl" ]; then
        acl=$(cd "$acl" && pwd)
        export BENCH_DEVLOOP_LIBRARIES="$acl|-I $acl -D DATA_TYPE=float -D VEC_SIZE=4 -D VEC_SIZE_LEFTOVER=0"
    fi
    step devloop "$(exe devloop)" --clbake "$T/release/clbake"
fi

# Metadata for the report.
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
"$PYTHON" - "$R/meta.json" "$elapsed" "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)" "${steps[@]}" <<'EOF'
import json, os, re, subprocess, sys, time
out, elapsed, load_start, load_end, *steps = sys.argv[1:]
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""
cpu = re.sub(r"\s+", " ", sh("sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1")) or "?"
mem = sh("free -g | awk '/^Mem:/ {print $2}'")
git = sh("git rev-parse --short HEAD") + ("+dirty" if sh("git status --porcelain") else "")
ocl = sh("clinfo 2>/dev/null | sed -n 's/^ *Platform Version *//p' | head -n1") or "?"
json.dump({
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "git": git, "cpu": cpu, "cores": os.cpu_count(), "memory": f"{mem} GiB" if mem else "?",
    "opencl": ocl, "rustc": sh("rustc --version"),
    "elapsed_s": float(elapsed), "load_start": load_start, "load_end": load_end,
    "steps": [{"name": s.split("=", 1)[0], "seconds": float(s.split("=", 1)[1])} for s in steps],
}, open(out, "w"), indent=1)
EOF

# The chart needs matplotlib (installed for this user if missing).
if ! "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
    log "installing matplotlib with pip (for the chart)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet matplotlib \
        || log "pip install matplotlib failed: the report will have no chart"
fi
"$PYTHON" "$REPO/cli/benches/report.py" "$R" "$REPO/BENCHMARKS.md" "$REPO/docs/bench-startup.png"
log "done in $(printf '%.0f' "$elapsed") s: BENCHMARKS.md, docs/bench-startup.png (raw results in $R)"
