"""Runs a criterion bench binary and reads its estimates, for the perf scripts.

`run(binary, target, filt, extra)` runs `binary --bench filt --noplot *extra`
with `CARGO_TARGET_DIR=target` and returns, for every benchmark it printed,
`{"time": seconds, "gbs": GB/s}` (the point estimates; "gbs" only when a
throughput was printed).
"""
import os
import re
import subprocess

UNIT = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
TPUT = {"B/s": 1e-9, "KiB/s": 1024 / 1e9, "MiB/s": 2**20 / 1e9, "GiB/s": 2**30 / 1e9}


def run(binary, target, filt, extra=()):
    args = [binary, "--bench", filt, "--noplot", *extra]
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    res, name = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\S+/\S+)(\s+time:.*)?$", line.strip())
        if m and not line.startswith(" "):
            name = m.group(1)
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name:
            res.setdefault(name, {})["time"] = float(t.group(1)) * UNIT[t.group(2)]
        g = re.search(r"thrpt:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if g and name:
            res.setdefault(name, {})["gbs"] = float(g.group(1)) * TPUT[g.group(2)]
    return res
