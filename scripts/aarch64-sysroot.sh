#!/usr/bin/env bash
# Build an aarch64 (arm64) PoCL sysroot: Debian's arm64 packages of PoCL, the OpenCL ICD
# loader and their run-time libraries, unpacked with `dpkg -x`. With it, qemu-user runs an
# aarch64 OpenCL program against a real (emulated) aarch64 PoCL CPU device.
#
# Usage: scripts/aarch64-sysroot.sh [--force] [DIR]     (DIR default: <repo>/.sysroot/aarch64)
#   then: scripts/run-aarch64.sh ./target/aarch64-unknown-linux-gnu/release/app
#     or: (. DIR/env.sh && qemu-aarch64-static ./app)
#
# Env: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR
#      (default http://deb.debian.org/debian-security), DEBIAN_SUITE (default: the host's
#      VERSION_CODENAME, else bookworm).
#
# The host stays clean: no `dpkg --add-architecture`. A private apt configuration in
# DIR/.apt (its own sources list, lists, cache and an empty dpkg status, APT::Architecture
# arm64) serves `apt-get update` and `apt-get download`; nothing is installed.
#
# How PoCL works under qemu-user (found by tracing with `qemu-aarch64-static -strace`):
# - PoCL compiles kernels in-process (libclang-cpp/libLLVM from the sysroot), with its own
#   headers from DIR/usr/share/pocl/include; clang-15 itself is not needed.
# - To turn the kernel object into a .so, PoCL runs the clang *driver* in-process, which
#   execve()s a linker. qemu-user does not translate execve paths and this host has no
#   binfmt_misc, so the linker must be a native binary: the driver finds the host's GCC
#   cross installation (/usr/lib/gcc-cross/aarch64-linux-gnu/12) and runs the host's
#   /usr/aarch64-linux-gnu/bin/ld (x86_64 ELF, aarch64 target), which links against the
#   host's libc6-dev-arm64-cross / libgcc-12-dev-arm64-cross. Hence PoCL-under-qemu needs
#   gcc-aarch64-linux-gnu + libc6-dev-arm64-cross on the host (scripts/setup-host.sh).
# - Debian's PoCL 3.1 names its CPU device `pthread` (PoCL >= 4 says `cpu`).
#
# Idempotent: a stamp file records the package set; a rerun only rewrites the ICD file and
# env.sh (cheap, and correct if DIR moved). --force re-downloads and re-extracts.
set -euo pipefail

log() { printf '[aarch64-sysroot] %s\n' "$*" >&2; }
die() { printf '[aarch64-sysroot] error: %s\n' "$*" >&2; exit 1; }

REPO_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
force=0 dir=
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $arg" ;;
        *) [ -z "$dir" ] || die "only one DIR argument"; dir=$arg ;;
    esac
done
dir=${dir:-$REPO_ROOT/.sysroot/aarch64}
mkdir -p "$dir"
DIR=$(cd "$dir" && pwd -P)

# The run-time closure of libpocl2 + the ICD loader (Depends, first alternatives), minus
# clang-15 (see above) and gcc-12-base (docs only). clinfo is there for diagnostics.
PKGS=(
    libpocl2 libpocl2-common pocl-opencl-icd ocl-icd-libopencl1 clinfo
    libllvm15 libclang-cpp15 libhwloc15 libltdl7
    libc6 libstdc++6 libgcc-s1 zlib1g libtinfo6 libffi8 libedit2 libxml2 libz3-4
    libbsd0 libmd0 libicu72 liblzma5 libudev1
)
IGNORED_DEPS=" clang-15 gcc-12-base libopencl1 "
STAMP_VERSION=1
STAMP="$DIR/.clbake-sysroot"
want_stamp="v$STAMP_VERSION ${PKGS[*]}"

# shellcheck source=/dev/null
SUITE=${DEBIAN_SUITE:-$( . /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}" )}
SUITE=${SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

for tool in apt-get dpkg-deb qemu-aarch64-static; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run scripts/setup-host.sh)"
done

if [ "$force" = 0 ] && [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$want_stamp" ] \
    && [ -e "$DIR/usr/lib/aarch64-linux-gnu/libpocl.so.2" ]; then
    log "sysroot in $DIR is up to date ($(sed -n 2p "$STAMP")); skipping download/extract"
else
    APT="$DIR/.apt"
    # The extraction below empties DIR: refuse a non-empty DIR that is not ours.
    if [ ! -f "$STAMP" ] && [ -n "$(find "$DIR" -mindepth 1 -maxdepth 1 ! -name .apt -print -quit)" ]; then
        die "$DIR is not empty and holds no $(basename "$STAMP") stamp: refusing to overwrite it"
    fi
    log "building aarch64 PoCL sysroot in $DIR (suite $SUITE)"
    rm -rf "$APT/debs"
    mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$APT/etc/apt.conf.d" \
        "$APT/etc/sources.list.d" "$APT/etc/preferences.d" "$APT/debs"
    : > "$APT/status"
    {
        echo "deb [arch=arm64] $MIRROR $SUITE main"
        echo "deb [arch=arm64] $MIRROR $SUITE-updates main"
        echo "deb [arch=arm64] $SECURITY_MIRROR $SUITE-security main"
    } > "$APT/etc/sources.list"
    apt_opts=(
        -o APT::Architecture=arm64 -o APT::Architectures::=arm64
        -o Dir::State::Lists="$APT/lists" -o Dir::State::status="$APT/status"
        -o Dir::Cache="$APT" -o Dir::Cache::archives="$APT/archives"
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
        -o Dir::Etc::SourceList="$APT/etc/sources.list"
        -o Dir::Etc::SourceParts="$APT/etc/sources.list.d"
        -o Dir::Etc::Preferences="$APT/etc/preferences"
        -o Dir::Etc::PreferencesParts="$APT/etc/preferences.d"
        -o Acquire::Languages=none
        -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false
        -o Debug::NoLocking=true
    )
    # _apt cannot write into a private dir under /root or /work: download as root.
    [ "$(id -u)" = 0 ] && apt_opts+=(-o APT::Sandbox::User=root)

    log "apt-get update (private arm64 lists in $APT/lists)"
    if ! apt-get "${apt_opts[@]}" -qq update; then
        log "apt-get update failed (mirror mid-sync?); retrying once in 10 s"
        sleep 10
        apt-get "${apt_opts[@]}" -qq update
    fi

    log "apt-get download ${#PKGS[@]} arm64 packages"
    if ! (cd "$APT/debs" && apt-get "${apt_opts[@]}" -qq download "${PKGS[@]}"); then
        log "apt-get download failed; retrying once in 10 s"
        sleep 10
        (cd "$APT/debs" && apt-get "${apt_opts[@]}" -qq download "${PKGS[@]}")
    fi

    # Every Depends of what we fetched must be in PKGS (or deliberately ignored).
    declare -A have=()
    for p in "${PKGS[@]}"; do have[$p]=1; done
    missing=()
    for deb in "$APT"/debs/*.deb; do
        deps=$(dpkg-deb -f "$deb" Pre-Depends Depends | sed -n 's/^[A-Za-z-]*: //p' | tr ',' '\n')
        while IFS= read -r alt; do
            first=$(sed -E 's/\|.*//; s/\(.*//; s/:any//; s/[[:space:]]//g' <<<"$alt")
            [ -n "$first" ] || continue
            [ -n "${have[$first]:-}" ] && continue
            case "$IGNORED_DEPS" in *" $first "*) continue ;; esac
            missing+=("$first (needed by $(dpkg-deb -f "$deb" Package))")
        done <<<"$deps"
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "warning: dependencies not in the sysroot package list: ${missing[*]}"
    fi

    log "dpkg -x into $DIR"
    # Clear what an older extraction left, keep the apt cache.
    find "$DIR" -mindepth 1 -maxdepth 1 ! -name .apt -exec rm -rf {} +
    versions=()
    for deb in "$APT"/debs/*.deb; do
        dpkg-deb -x "$deb" "$DIR"
        versions+=("$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)")
    done
    rm -rf "$APT/debs" "$APT/archives"
    [ -e "$DIR/usr/lib/aarch64-linux-gnu/libpocl.so.2" ] || die "libpocl.so.2 missing after extraction"
    printf '%s\n%s\n' "$want_stamp" "libpocl2=$(printf '%s\n' "${versions[@]}" | sed -n 's/^libpocl2=//p')" > "$STAMP"
    printf '%s\n' "${versions[@]}" >> "$STAMP"
    log "extracted ${#versions[@]} packages ($(du -sh "$DIR" | cut -f1))"
fi

# The arm64 ld.so would otherwise read the host's x86_64 /etc/ld.so.cache (harmless but
# host-dependent); an empty cache makes it search its default directories only.
mkdir -p "$DIR/etc"
[ -s "$DIR/etc/ld.so.cache" ] || : > "$DIR/etc/ld.so.cache"

# ICD: the absolute host path works under qemu -L (a path missing under the prefix falls
# back to the host path), and outside qemu it names the right file too.
mkdir -p "$DIR/etc/OpenCL/vendors"
echo "$DIR/usr/lib/aarch64-linux-gnu/libpocl.so.2" > "$DIR/etc/OpenCL/vendors/pocl.icd"

cat > "$DIR/env.sh" <<EOF
# Generated by scripts/aarch64-sysroot.sh: source it (in a subshell: it points the OpenCL ICD
# loader at aarch64 libraries, which host programs cannot load), then run an aarch64 binary
# with qemu-aarch64-static (QEMU_LD_PREFIX stands in for -L). scripts/run-aarch64.sh does both.
export CLBAKE_AARCH64_SYSROOT='$DIR'
export QEMU_LD_PREFIX='$DIR'
export OCL_ICD_VENDORS='$DIR/etc/OpenCL/vendors'
# Debian's PoCL 3.1 names its CPU device 'pthread' ('basic' is the single-threaded one).
export POCL_DEVICES="\${CLBAKE_AARCH64_POCL_DEVICES:-pthread}"
# Keep the emulated device's kernel cache apart from the host's ~/.cache/pocl;
# POCL_KERNEL_CACHE=0 turns it off (to time real source compiles).
export POCL_CACHE_DIR="\${CLBAKE_AARCH64_POCL_CACHE_DIR:-$DIR/var/cache/pocl}"
EOF

# Host prerequisites of PoCL-under-qemu (see the header): warn, do not fail the build.
if [ ! -x /usr/aarch64-linux-gnu/bin/ld ] || [ ! -d /usr/lib/gcc-cross/aarch64-linux-gnu ] \
    || [ ! -e /usr/aarch64-linux-gnu/lib/libc.so ]; then
    log "warning: host cross toolchain missing (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross):"
    log "         PoCL under qemu can compile kernels but cannot link them (clBuildProgram fails)"
fi

log "ICD: $DIR/etc/OpenCL/vendors/pocl.icd -> $(cat "$DIR/etc/OpenCL/vendors/pocl.icd")"
log "env: $DIR/env.sh"
if [ -x "$DIR/usr/bin/clinfo" ]; then
    # shellcheck source=/dev/null
    n=$( (. "$DIR/env.sh"; qemu-aarch64-static "$DIR/usr/bin/clinfo" -l 2>/dev/null) | grep -c 'Device' || true)
    log "clinfo under qemu: $n aarch64 OpenCL device(s)"
fi
log "done"
