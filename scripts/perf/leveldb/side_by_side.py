#!/usr/bin/env python3
"""blocklog against LevelDB 1.23's C++ log, interleaved rounds, ratios from the same round.

    cargo bench --bench throughput --no-run      # prints the bench binary's path
    scripts/perf/leveldb/build.sh LEVELDB_SRC CRC32C_SRC   # prints the harness's path
    scripts/perf/leveldb/side_by_side.py HARNESS BENCH_BINARY [ROUNDS]

Each round runs the C++ harness (median of 30 iterations per size) and then
the repository's throughput bench (criterion, thread CPU time) on the same
workload: 4 MiB of payload in records of 100 B, 1 KiB, 32 KiB, 1 MiB
(at least 8 records), legacy format, in memory. Every ratio is taken within
one round (the machine's load moves both sides), then the medians and
ranges over the rounds are printed. A ratio above 1: blocklog is faster.
Nothing is downloaded or built here.
"""
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import criterion_out  # noqa: E402

SIZES = [(100, "100B"), (1024, "1KiB"), (32 * 1024, "32KiB"), (1 << 20, "1MiB")]
ROWS = "crc32c|memcpy|bytes-slice|legacy-mem|legacy-inmem|legacy-bytes|legacy-bytes-ref"


def bench(binary, target):
    filt = f"^(read|write)-(100B|1KiB|32KiB|1MiB)/({ROWS})$"
    res = criterion_out.run(binary, target, filt, ["--warm-up-time", "0.3", "--measurement-time", "1"])
    return {name: r["time"] for name, r in res.items() if "time" in r}


def harness(binary):
    res = {}
    for size, label in SIZES:
        w, r, c, _n = subprocess.run([binary, str(size), "30"], capture_output=True, text=True,
                                     check=True).stdout.split()
        res[label] = {"write": float(w) * 1e-9, "read": float(r) * 1e-9, "crc": float(c) * 1e-9}
    return res


def fmt(xs):
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"


def main():
    h, b = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    target = tempfile.mkdtemp(prefix="blocklog-sbs-")
    per = []
    for i in range(rounds):
        per.append((harness(h), bench(b, target)))
        print(f"round {i + 1}/{rounds} done", file=sys.stderr)
    cols = [
        ("write, blocklog / LevelDB", lambda L, B, s: L[s]["write"] / B[f"write-{s}/legacy-mem"]),
        ("write in place (`build_in_memory`)", lambda L, B, s: L[s]["write"] / B[f"write-{s}/legacy-inmem"]),
        ("read `Bytes` (`next_record`)", lambda L, B, s: L[s]["read"] / B[f"read-{s}/legacy-bytes"]),
        ("read lent (`next_record_ref`)", lambda L, B, s: L[s]["read"] / B[f"read-{s}/legacy-bytes-ref"]),
        ("read via `io::Read` (`&[u8]`)", lambda L, B, s: L[s]["read"] / B[f"read-{s}/legacy-mem"]),
    ]
    print("| records | " + " | ".join(c for c, _ in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for _, s in SIZES:
        print(f"| {s} | " + " | ".join(fmt([f(L, B, s) for L, B in per]) for _, f in cols) + " |")
    print()
    print("| records | crc32c crate / google crc32c | LevelDB write / (google crc32c + memcpy) "
          "| LevelDB read / google crc32c | blocklog write / (crc32c + memcpy) "
          "| blocklog `Bytes` read / crc32c | blocklog lent read / crc32c "
          "| blocklog `Bytes` read / (crc32c + memcpy) | blocklog `io::Read` / `Bytes` read "
          "| blocklog in-place write / (crc32c + memcpy) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for _, s in SIZES:
        crate = [L[s]["crc"] / B[f"read-{s}/crc32c"] for L, B in per]
        lw = [(L[s]["crc"] + B[f"write-{s}/memcpy"]) / L[s]["write"] for L, B in per]
        lr = [L[s]["crc"] / L[s]["read"] for L, B in per]
        bw = [(B[f"write-{s}/crc32c"] + B[f"write-{s}/memcpy"]) / B[f"write-{s}/legacy-mem"] for L, B in per]
        br = [B[f"read-{s}/crc32c"] / B[f"read-{s}/legacy-bytes"] for L, B in per]
        bl = [B[f"read-{s}/crc32c"] / B[f"read-{s}/legacy-bytes-ref"] for L, B in per]
        bm = [(B[f"read-{s}/crc32c"] + B[f"read-{s}/memcpy"]) / B[f"read-{s}/legacy-bytes"] for L, B in per]
        io = [B[f"read-{s}/legacy-bytes"] / B[f"read-{s}/legacy-mem"] for L, B in per]
        bi = [(B[f"write-{s}/crc32c"] + B[f"write-{s}/memcpy"]) / B[f"write-{s}/legacy-inmem"] for L, B in per]
        print(f"| {s} | {fmt(crate)} | {fmt(lw)} | {fmt(lr)} | {fmt(bw)} | {fmt(br)} | {fmt(bl)} "
              f"| {fmt(bm)} | {fmt(io)} | {fmt(bi)} |")
    raw = {k: [B.get(k) for _, B in per] for k in sorted(per[0][1])}
    print("\nblocklog medians (µs):", ", ".join(f"{k} {statistics.median(v) * 1e6:.0f}" for k, v in raw.items()))
    print("LevelDB medians (µs):", ", ".join(
        f"{s} w {statistics.median([L[s]['write'] for L, _ in per]) * 1e6:.0f} r "
        f"{statistics.median([L[s]['read'] for L, _ in per]) * 1e6:.0f} crc "
        f"{statistics.median([L[s]['crc'] for L, _ in per]) * 1e6:.0f}" for _, s in SIZES))


if __name__ == "__main__":
    main()
