#!/usr/bin/env python3
"""A modern RocksDB (the one bundled in the `rocksdict` wheel, 10.4.2 for
rocksdict 0.3.29) for tests/interop_engines.rs: creates databases and opens
them in a given WAL recovery mode, printing what recovery left.

    rocksdb10.py version                 -> "rocksdb 10.4.2"
    rocksdb10.py mkdb DIR                -> "wal 000004.log 4"
    rocksdb10.py dump DIR MODE           -> "open ok" | "open error STATUS" (exit 2),
                                            then "latest_seq N", "kv KEYHEX VALUEHEX"
                                            ("=" for an empty value) in key order, "count N"

MODE is tolerate | absolute | pit | skip (kTolerateCorruptedTailRecords,
kAbsoluteConsistency, kPointInTimeRecovery, kSkipAnyCorruptedRecords). The
output is that of `gen dump rocksdb` (tests/interop/gen/gen.cc) without the
"batch" lines: rocksdict has no WAL filter. The dump opens the database
read-write (recovery rewrites DIR): dump a copy.

Our own code; it only uses rocksdict's public API.
"""

import os
import re
import sys

import rocksdict
from rocksdict import DBRecoveryMode, Options, Rdict

MODES = {
    "tolerate": DBRecoveryMode.tolerate_corrupted_tail_records(),
    "absolute": DBRecoveryMode.absolute_consistency(),
    "pit": DBRecoveryMode.point_in_time(),
    "skip": DBRecoveryMode.skip_any_corrupted_record(),
}


def version():
    """The RocksDB release compiled into rocksdict's extension module (its
    build properties hold `rocksdb_build_git_tag:vX.Y.Z`)."""
    here = os.path.dirname(rocksdict.__file__)
    for name in sorted(os.listdir(here)):
        if name.endswith(".so") or name.endswith(".pyd"):
            with open(os.path.join(here, name), "rb") as f:
                m = re.search(rb"rocksdb_build_git_tag:v?([0-9]+\.[0-9]+\.[0-9]+)", f.read())
            if m:
                return m.group(1).decode()
    sys.exit("rocksdb10.py: no rocksdb_build_git_tag in rocksdict's extension module")


def options(mode=None):
    o = Options(raw_mode=True)
    o.create_if_missing(mode is None)
    if mode is not None:
        o.set_wal_recovery_mode(MODES[mode])
    return o


def mkdb(path):
    db = Rdict(path, options())
    db.close()
    logs = sorted(n for n in os.listdir(path) if re.fullmatch(r"[0-9]+\.log", n))
    if len(logs) != 1:
        sys.exit(f"rocksdb10.py: a fresh database holds the logs {logs}")
    print(f"wal {logs[0]} {int(logs[0][:-4])}")


def dump(path, mode):
    opts = options(mode)
    try:
        db = Rdict(path, opts)
    except Exception as e:  # rocksdict raises with RocksDB's Status string
        print(f"open error {' '.join(str(e).split())}")
        sys.stdout.flush()
        sys.exit(2)
    print("open ok")
    print(f"latest_seq {db.latest_sequence_number()}")
    count = 0
    for k, v in db.items():
        print(f"kv {k.hex()} {v.hex() if v else '='}")
        count += 1
    print(f"count {count}")
    db.close()


def main(argv):
    if argv[1:] == ["version"]:
        print(f"rocksdb {version()}")
    elif len(argv) == 3 and argv[1] == "mkdb":
        mkdb(argv[2])
    elif len(argv) == 4 and argv[1] == "dump" and argv[3] in MODES:
        dump(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
