#!/usr/bin/env python3
"""Prints the executables cargo built, read from `cargo ... --message-format=json` on stdin.

Usage: cargo build ... --message-format=json | scripts/cargo-artifact.py NAME...
       cargo bench --no-run ... --message-format=json | scripts/cargo-artifact.py --benches

With NAMEs: the executable of each target named NAME (the last one cargo reported), one per
line, in the order given; exits 1 when one is missing. With --benches: `NAME PATH` for every
bench target. Lines that are not JSON (a build script's output, say) are skipped.
"""
import json
import sys

names = sys.argv[1:]
found = {}
benches = []
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    found[m["target"]["name"]] = m["executable"]
    if "bench" in m["target"]["kind"]:
        benches.append((m["target"]["name"], m["executable"]))
if names == ["--benches"]:
    for name, exe in benches:
        print(name, exe)
    sys.exit(0)
missing = [n for n in names if n not in found]
for n in names:
    if n in found:
        print(found[n])
if missing:
    print(f"cargo-artifact: no executable for {', '.join(missing)}", file=sys.stderr)
    sys.exit(1)
