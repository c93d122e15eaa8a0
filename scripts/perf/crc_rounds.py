#!/usr/bin/env python3
"""The CRC32C routines of benches/crc.rs in interleaved rounds, ratios from the same round.

    cargo bench --bench crc --no-run                  # prints the bench binary's path
    scripts/perf/crc_rounds.py BENCH_BINARY [ROUNDS] [FILTER]

Each round runs the bench binary once (every size, every routine, criterion,
thread CPU time); ratios are taken within a round (the machine's load moves
every routine of a round alike), then the median and range over the rounds
are printed. "crate / X" above 1: X is faster than the `crc32c` crate.
"""
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import criterion_out  # noqa: E402


def bench(binary, target, filt):
    return criterion_out.run(binary, target, filt)


def fmt(xs):
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    filt = sys.argv[3] if len(sys.argv) > 3 else "^crc-"
    target = tempfile.mkdtemp(prefix="blocklog-crc-")
    per = []
    for i in range(rounds):
        per.append(bench(binary, target, filt))
        print(f"round {i + 1}/{rounds} done", file=sys.stderr)
    groups = []
    for k in per[0]:
        g = k.split("/")[0]
        if g not in groups:
            groups.append(g)
    routines = ["crate", "serial", "three-way", "append"]
    print("| input | " + " | ".join(f"{r} GB/s" for r in routines)
          + " | crate / serial | crate / three-way | crate / append | serial / three-way |")
    print("|---|" + "---:|" * (len(routines) + 4))
    for g in groups:
        def col(r):
            return [p[f"{g}/{r}"] for p in per if f"{g}/{r}" in p]
        gbs = [f"{statistics.median([x['gbs'] for x in col(r)]):.2f}" for r in routines]
        ratio = lambda a, b: fmt([p[f"{g}/{a}"]["time"] / p[f"{g}/{b}"]["time"] for p in per])
        print(f"| {g.removeprefix('crc-')} | " + " | ".join(gbs)
              + f" | {ratio('crate', 'serial')} | {ratio('crate', 'three-way')}"
              + f" | {ratio('crate', 'append')} | {ratio('serial', 'three-way')} |")


if __name__ == "__main__":
    main()
