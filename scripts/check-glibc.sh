#!/usr/bin/env bash
# Print the highest GLIBC_x.y symbol version an ELF file needs; fail if it exceeds MAX.
#
# Usage: scripts/check-glibc.sh FILE [MAX]      e.g. scripts/check-glibc.sh app 2.28
#   exit 0: highest <= MAX (or no MAX given, or no GLIBC versions at all: static/musl)
#   exit 1: highest > MAX (the symbols needing newer versions are listed)
#   exit 2: usage error, not an ELF file, or no tool could read it
#
# Reads the version-needs table with `objdump -p`: the cross objdump matching the ELF's
# machine when installed (aarch64-linux-gnu-objdump, arm-linux-gnueabihf-objdump), else the
# host objdump (its generic elf32/64-little backends read any little-endian ELF), else
# `readelf -V` (version needs; works for every ELF machine).
set -euo pipefail

log() { printf '[check-glibc] %s\n' "$*" >&2; }

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    echo "usage: $0 FILE [MAX]   (e.g. $0 target/aarch64-unknown-linux-gnu/release/app 2.28)" >&2
    exit 2
fi
file=$1 max=${2:-}
[ -f "$file" ] || { log "no such file: $file"; exit 2; }
if [ "$(head -c4 "$file" | od -An -c | tr -d ' ')" != '177ELF' ]; then
    log "not an ELF file: $file"; exit 2
fi
if [ -n "$max" ] && ! [[ "$max" =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]]; then
    log "MAX must look like 2.28, got: $max"; exit 2
fi

machine=$(LC_ALL=C readelf -h "$file" 2>/dev/null | sed -n 's/^ *Machine: *//p' || true)
case "$machine" in
    *AArch64*) cross=aarch64-linux-gnu-objdump ;;
    ARM) cross=arm-linux-gnueabihf-objdump ;;
    *X86-64*|*x86-64*) cross=objdump ;;
    *) cross= ;;
esac

# Required versions come from the version-needs table (`objdump -p`: "Version References",
# or `readelf -V`: "Version needs section"); versions the file itself defines (libc.so.6)
# do not count. Symbols are listed (from `objdump -T`) only to explain a failure.
reqs='' reader=''
for tool in $cross objdump; do
    command -v "$tool" >/dev/null 2>&1 || continue
    if out=$(LC_ALL=C "$tool" -p "$file" 2>/dev/null); then
        reqs=$(awk '/^Version References:/ {f=1; next} /^[^ ]/ {f=0}
                    f && $NF ~ /^GLIBC_[0-9]/ {print $NF}' <<<"$out" | sort -u)
        reader="$tool"
        break
    fi
done
if [ -z "$reader" ]; then
    command -v readelf >/dev/null 2>&1 || { log "neither objdump nor readelf found (apt-get install binutils)"; exit 2; }
    out=$(LC_ALL=C readelf -V -W "$file" 2>/dev/null) || { log "readelf cannot read $file"; exit 2; }
    reqs=$(awk '/^Version needs section/ {f=1; next} /^Version (symbols|definition)/ {f=0}
                f {for (i = 1; i < NF; i++) if ($i == "Name:" && $(i+1) ~ /^GLIBC_[0-9]/) print $(i+1)}' \
           <<<"$out" | sort -u)
    reader="readelf"
fi

highest=$(sed 's/^GLIBC_//' <<<"$reqs" | grep -E '^[0-9]' | sort -uV | tail -n1 || true)
if [ -z "$highest" ]; then
    echo "$file: ${machine:-unknown machine}: needs no GLIBC symbol versions (static, musl or no libc) [$reader]"
    exit 0
fi
echo "$file: ${machine:-unknown machine}: needs GLIBC_$highest [$reader]"

if [ -n "$max" ]; then
    newest=$(printf '%s\n%s\n' "$highest" "$max" | sort -V | tail -n1)
    if [ "$newest" != "$max" ]; then
        too_new=()
        while read -r ver; do
            v=${ver#GLIBC_}
            [ "$(printf '%s\n%s\n' "$v" "$max" | sort -V | tail -n1)" = "$max" ] || too_new+=("$ver")
        done <<<"$reqs"
        log "FAIL: GLIBC_$highest > $max; versions needed above $max: ${too_new[*]}"
        # Name the symbols behind them (best effort; objdump -T prints "(GLIBC_x.y) name").
        if [ "$reader" != readelf ] && dyn=$(LC_ALL=C "$reader" -T "$file" 2>/dev/null); then
            for ver in "${too_new[@]}"; do
                syms=$(grep -F "$ver" <<<"$dyn" | grep -E "[( ]$ver\)? " | awk '{print $NF}' | sort -u | tr '\n' ' ' || true)
                log "  $ver: $syms"
            done
        fi
        exit 1
    fi
    echo "OK: GLIBC_$highest <= $max"
fi
