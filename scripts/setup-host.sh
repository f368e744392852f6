#!/usr/bin/env bash
# Install what clbake needs on a Debian bookworm (amd64) host: PoCL (a CPU OpenCL device),
# the OpenCL loader and headers, Oclgrind (a second OpenCL implementation for the driver
# matrix, scripts/test-drivers.sh), Debian's aarch64/armv7 cross toolchains, qemu-user,
# OpenSSH (for the scp/ssh round-trip tests) and the Rust cross targets.
#
# Usage: scripts/setup-host.sh [--opencl-only] [--no-cross] [--no-ssh] [--no-rust] [--no-apt]
#   --opencl-only   only PoCL/ocl-icd/clinfo (no Oclgrind, cross toolchains, qemu, ssh, rust targets)
#   --no-oclgrind   skip Oclgrind
#   --no-cross      skip the cross gcc/libc, qemu-user and the rustup targets
#   --no-ssh        skip openssh-server/openssh-client
#   --no-rust       skip `rustup target add`
#   --no-apt        skip every apt step (only rustup)
#
# Idempotent: apt-get update/install run only when a package is missing (checked with
# dpkg-query), rustup only when a target is missing. Needs root (or sudo) for apt.
# Non-interactive (DEBIAN_FRONTEND=noninteractive), so it runs unchanged under CI=true.
set -euo pipefail

log() { printf '[setup-host] %s\n' "$*" >&2; }
die() { printf '[setup-host] error: %s\n' "$*" >&2; exit 1; }

want_opencl=1 want_oclgrind=1 want_cross=1 want_ssh=1 want_rust=1 want_apt=1
for arg in "$@"; do
    case "$arg" in
        --opencl-only) want_oclgrind=0 want_cross=0 want_ssh=0 want_rust=0 ;;
        --no-oclgrind) want_oclgrind=0 ;;
        --no-cross) want_cross=0 ;;
        --no-ssh) want_ssh=0 ;;
        --no-rust) want_rust=0 ;;
        --no-apt) want_apt=0 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg (see --help)" ;;
    esac
done

pkgs=()
if [ "$want_opencl" = 1 ]; then
    pkgs+=(pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers clinfo pkg-config)
fi
if [ "$want_oclgrind" = 1 ]; then
    # Not registered in /etc/OpenCL/vendors: scripts/test-drivers.sh points OCL_ICD_VENDORS
    # at a folder naming /usr/lib/oclgrind/liboclgrind-rt-icd.so.
    pkgs+=(oclgrind)
fi
if [ "$want_cross" = 1 ]; then
    # binutils (+ the cross ones, also pulled in by the gccs): objdump/readelf for
    # check-glibc.sh. The cross gccs bring libgcc-12-dev-*-cross, which PoCL under qemu links
    # kernels against (see aarch64-sysroot.sh). file/xz-utils/zstd: inspecting binaries, debs.
    pkgs+=(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross
           binutils binutils-aarch64-linux-gnu binutils-arm-linux-gnueabihf qemu-user-static
           file xz-utils zstd ca-certificates)
fi
if [ "$want_ssh" = 1 ]; then
    pkgs+=(openssh-server openssh-client)
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else SUDO=__no_root__; fi
fi

# Prints the packages of "$@" that are not fully installed.
missing_pkgs() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case "$status" in ii*) ;; *) printf '%s\n' "$p" ;; esac
    done
}

apt_retry() {
    # A mirror caught mid-sync fails with hash-sum mismatches: retry once after a pause.
    if ! $SUDO "$@"; then
        log "'$*' failed; retrying once in 10 s"
        sleep 10
        $SUDO "$@"
    fi
}

if [ "$want_apt" = 1 ] && [ "${#pkgs[@]}" -gt 0 ]; then
    mapfile -t missing < <(missing_pkgs "${pkgs[@]}")
    if [ "${#missing[@]}" -eq 0 ]; then
        log "all ${#pkgs[@]} apt packages already installed; skipping apt-get"
    else
        [ "$SUDO" = __no_root__ ] && die "need root or sudo to install: ${missing[*]}"
        log "installing ${#missing[@]} missing apt packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt_retry apt-get update -qq
        apt_retry apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
        mapfile -t still < <(missing_pkgs "${pkgs[@]}")
        [ "${#still[@]}" -eq 0 ] || die "still missing after apt-get install: ${still[*]}"
        log "apt packages installed"
    fi
fi

if [ "$want_rust" = 1 ] && [ "$want_cross" = 1 ]; then
    command -v rustup >/dev/null 2>&1 || die "rustup not found on PATH (install Rust via rustup first)"
    targets=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
    installed=$(rustup target list --installed)
    todo=()
    for t in "${targets[@]}"; do
        grep -qx "$t" <<<"$installed" || todo+=("$t")
    done
    if [ "${#todo[@]}" -eq 0 ]; then
        log "rust targets already installed: ${targets[*]}"
    else
        log "rustup target add ${todo[*]}"
        rustup target add "${todo[@]}"
    fi
fi

# Summary: what a CI log should show.
if [ "$want_opencl" = 1 ] && command -v clinfo >/dev/null 2>&1; then
    n=$(clinfo -l 2>/dev/null | grep -c 'Device' || true)
    log "clinfo: ${n} OpenCL device(s) on the host"
fi
if [ "$want_cross" = 1 ]; then
    for tool in aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc qemu-aarch64-static qemu-arm-static; do
        if command -v "$tool" >/dev/null 2>&1; then
            log "$tool: $("$tool" --version 2>&1 | head -n1)"
        fi
    done
fi
log "done"
