#!/usr/bin/env python3
"""Turns criterion's estimates and the benches' work manifests into the
ratio tables of docs/performance.md.

usage: report.py CRITERION_DIR
Reads CRITERION_DIR/blocklog-work-*.tsv (written by the benches in bench
mode) and CRITERION_DIR/<group>/<function>/new/estimates.json (median).
Prints markdown tables for whatever benches have results."""

import csv
import json
import os
import sys

crit = sys.argv[1]


def median_ns(bench_id):
    p = os.path.join(crit, *bench_id.split("/"), "new", "estimates.json")
    try:
        with open(p) as f:
            return json.load(f)["median"]["point_estimate"]
    except OSError:
        return None


def load_work(name):
    p = os.path.join(crit, f"blocklog-work-{name}.tsv")
    if not os.path.exists(p):
        return {}
    with open(p) as f:
        return {r["id"]: r for r in csv.DictReader(f, delimiter="\t")}


def gbs(nbytes, ns):
    return nbytes / ns  # bytes per ns == GB/s


def pct(x):
    return f"{100 * x:.0f} %"


def throughput():
    work = load_work("throughput")
    if not work:
        return
    print("### Throughput (payload; medians of one run)\n")
    print("| bench | records/s | payload GB/s | vs crc32c alone | vs bound | bound |")
    print("|---|---:|---:|---:|---:|---|")
    sizes = []
    for k in work:
        g = k.split("/")[0]
        if g not in sizes:
            sizes.append(g)
    for group in sizes:
        t = {k.split("/")[1]: median_ns(k) for k in work if k.startswith(group + "/")}
        if t.get("crc32c") is None:
            continue
        crc = t["crc32c"]
        writing = group.startswith("write")
        for name in ["crc32c", "memcpy", "write2", "read2", "bytes-slice"]:
            if t.get(name) is None:
                continue
            w = work[f"{group}/{name}"]
            print(f"| {group}/{name} (baseline) | | {gbs(int(w['payload_bytes']), t[name]):.2f} | | | |")
        for name, ns in t.items():
            if name in ("crc32c", "memcpy", "write2", "read2", "bytes-slice") or ns is None:
                continue
            w = work[f"{group}/{name}"]
            recs = int(w["records"]) / ns * 1e9
            payload = gbs(int(w["payload_bytes"]), ns)
            if name.endswith("-file"):
                copy = t.get("write2" if writing else "read2")
                bound_name = "crc32c + " + ("write(2)" if writing else "read(2)")
            elif writing or name.endswith("-mem"):
                copy = t.get("memcpy")
                bound_name = "crc32c + memcpy"
            elif group.endswith(("32KiB", "MiB")):
                # Records longer than a fragment (32 761 bytes) span blocks and
                # are assembled: one copy is unavoidable.
                copy = t.get("memcpy")
                bound_name = "crc32c + memcpy (assembly)"
            else:
                copy = 0.0
                bound_name = "crc32c (zero-copy)"
            bound = crc + (copy or 0.0)
            rate = f"{recs / 1e6:.1f} M" if recs >= 1e5 else f"{recs / 1e3:.1f} k"
            print(
                f"| {group}/{name} | {rate} | {payload:.2f} | {pct(crc / ns)} | {pct(bound / ns)} | {bound_name} |"
            )
    print()


def recovery():
    work = load_work("recovery")
    if not work:
        return
    print("### Recovery of a damaged log (medians of one run)\n")
    print("| bench | records/s | log GB/s | vs crc32c alone | vs bound | bound |")
    print("|---|---:|---:|---:|---:|---|")
    t = {k: median_ns(k) for k in work}
    base = {k.rsplit("/", 1)[1]: v for k, v in t.items()}
    crc, rd, cp = base.get("crc32c"), base.get("read2"), base.get("memcpy")
    for k, ns in t.items():
        if ns is None:
            continue
        w = work[k]
        recs = int(w["records"]) / ns * 1e9
        name = k.rsplit("/", 1)[1]
        if name in ("crc32c", "read2", "memcpy"):
            print(f"| {k} (baseline) | | {gbs(int(w['log_bytes']), ns):.2f} | | | |")
            continue
        if name.endswith("-file"):
            copy, bound_name = rd, "crc32c + read(2)"
        elif name.endswith("-mem"):
            copy, bound_name = cp, "crc32c + memcpy"
        else:
            copy, bound_name = cp, "crc32c + memcpy (assembly)"
        ratio_crc = pct(crc / ns) if crc else ""
        ratio = pct((crc + copy) / ns) if crc and copy else ""
        print(
            f"| {k} | {recs / 1e6:.2f} M | {gbs(int(w['log_bytes']), ns):.2f} | {ratio_crc} | {ratio} | {bound_name} |"
        )
    print()


def peers():
    groups = sorted(d for d in os.listdir(crit) if d.startswith("peers-"))
    if not groups:
        return
    print("### Side by side: append + one sync + read back (medians of one run)\n")
    print("| workload | log | time per round | payload MB/s | blocklog's speed-up |")
    print("|---|---|---:|---:|---:|")
    for g in sorted(groups, key=lambda s: {"100B": 0, "1KiB": 1, "32KiB": 2}.get(s[6:], 9)):
        names = sorted(os.listdir(os.path.join(crit, g)))
        t = {n: median_ns(f"{g}/{n}") for n in names if n != "report"}
        t = {n: v for n, v in t.items() if v is not None}
        bench = os.path.join(crit, g, "blocklog", "new", "benchmark.json")
        try:
            with open(bench) as f:
                nbytes = json.load(f)["throughput"]["Bytes"]
        except (OSError, KeyError, TypeError):
            nbytes = None
        ours = t.get("blocklog")
        for n, ns in sorted(t.items(), key=lambda kv: kv[1]):
            mbs = f"{nbytes / ns * 1e3:.0f}" if nbytes else ""
            if n == "floor":
                up = f"floor: blocklog takes {ours / ns:.2f}x its time" if ours else ""
            else:
                up = f"{ns / ours:.2f}x" if ours and n != "blocklog" else ""
            print(f"| {g[6:]} | {n} | {ns / 1e3:.0f} µs | {mbs} | {up} |")
    print()


throughput()
recovery()
peers()
