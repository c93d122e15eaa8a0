#!/usr/bin/env python3
"""Newer RocksDB releases than Debian's 7.8.3, from two PyPI wheels that bundle
one, for tests/interop_engines.rs: creates databases and opens them in a WAL
recovery mode, printing what recovery left.

    pyrocks.py ENGINE mkdb DIR        -> "rocksdb X.Y.Z" (from the new database's LOG),
                                         "wal 000004.log 4" (its one, empty, WAL)
    pyrocks.py ENGINE dump DIR MODE   -> "open ok" | "open error STATUS" (exit 2),
                                         then "latest_seq N" (rocksdict only),
                                         "kv KEYHEX VALUEHEX" ("=" for an empty value)
                                         in key order, "count N"

ENGINE: `rocksdict` (rocksdict 0.3.29: RocksDB 9.8.4, although its build
properties say `rocksdb_build_git_tag:v10.4.2`; the LOG's "RocksDB version" is
the compiled version.h) or `amulet` (amulet-rocksdb 1.0.6: RocksDB 11.1.2,
which takes no wal_recovery_mode: always RocksDB's default, point-in-time).

MODE: tolerate | absolute | pit | skip (kTolerateCorruptedTailRecords,
kAbsoluteConsistency, kPointInTimeRecovery, kSkipAnyCorruptedRecords).
The output is that of `gen dump rocksdb` (tests/interop/gen/gen.cc) without
the "batch" lines: neither binding has a WAL filter. The dump opens the
database read-write (recovery rewrites DIR): dump a copy.

Our own code; it only uses the bindings' public APIs.
"""

import os
import re
import sys

MODES = ["tolerate", "absolute", "pit", "skip"]


def log_version(path):
    """The "RocksDB version: X.Y.Z" line RocksDB writes at the top of LOG."""
    with open(os.path.join(path, "LOG"), encoding="utf-8", errors="replace") as f:
        m = re.search(r"RocksDB version: ([0-9]+\.[0-9]+\.[0-9]+)", f.read())
    if not m:
        sys.exit("pyrocks.py: no 'RocksDB version' in LOG")
    return m.group(1)


class Rocksdict:
    def __init__(self):
        import rocksdict

        self.m = rocksdict
        self.modes = {
            "tolerate": rocksdict.DBRecoveryMode.tolerate_corrupted_tail_records(),
            "absolute": rocksdict.DBRecoveryMode.absolute_consistency(),
            "pit": rocksdict.DBRecoveryMode.point_in_time(),
            "skip": rocksdict.DBRecoveryMode.skip_any_corrupted_record(),
        }

    def create(self, path):
        o = self.m.Options(raw_mode=True)
        o.create_if_missing(True)
        self.m.Rdict(path, o).close()

    def open(self, path, mode):
        o = self.m.Options(raw_mode=True)
        o.create_if_missing(False)
        o.set_wal_recovery_mode(self.modes[mode])
        return lambda: self.m.Rdict(path, o)

    def scan(self, db):
        print(f"latest_seq {db.latest_sequence_number()}")
        return list(db.items())


class Amulet:
    def __init__(self):
        import rocksdb

        self.m = rocksdb

    def create(self, path):
        self.m.RocksDB(path, create_if_missing=True).close()

    def open(self, path, mode):
        if mode != "pit":
            sys.exit("pyrocks.py: amulet-rocksdb cannot set wal_recovery_mode (pit only)")
        return lambda: self.m.RocksDB(path)

    def scan(self, db):
        it = db.items()
        it.seek_to_first()
        out = []
        while it.valid():
            out.append((it.key(), it.value()))
            it.next()
        return out


def mkdb(engine, path):
    engine.create(path)
    print(f"rocksdb {log_version(path)}")
    logs = sorted(n for n in os.listdir(path) if re.fullmatch(r"[0-9]+\.log", n))
    if len(logs) != 1:
        sys.exit(f"pyrocks.py: a fresh database holds the logs {logs}")
    print(f"wal {logs[0]} {int(logs[0][:-4])}")


def dump(engine, path, mode):
    opener = engine.open(path, mode)
    try:
        db = opener()
    except Exception as e:  # both bindings raise with RocksDB's Status string
        print(f"open error {' '.join(str(e).split())}")
        sys.stdout.flush()
        sys.exit(2)
    print("open ok")
    items = engine.scan(db)
    for k, v in items:
        print(f"kv {k.hex()} {v.hex() if v else '='}")
    print(f"count {len(items)}")
    db.close()


def main(argv):
    engines = {"rocksdict": Rocksdict, "amulet": Amulet}
    if len(argv) >= 3 and argv[1] in engines:
        if len(argv) == 4 and argv[2] == "mkdb":
            return mkdb(engines[argv[1]](), argv[3])
        if len(argv) == 5 and argv[2] == "dump" and argv[4] in MODES:
            return dump(engines[argv[1]](), argv[3], argv[4])
    sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
