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
the compiled version.h) or `amulet` (amulet-rocksdb 1.0.6: RocksDB 11.1.2; its
Python API takes no wal_recovery_mode, so the mode is set through RocksDB's
C++ API, see `Amulet`).

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
    """amulet-rocksdb's API has no wal_recovery_mode, so the mode's open is
    done in a child process (`pyrocks.py amulet recover DIR MODE`) that
    calls RocksDB's C++ API in the wheel's extension module through ctypes
    (symbols it exports: DBOptions(), ColumnFamilyOptions(), Options(db, cf),
    GetOptionsFromString, DB::Open, Status::ToString). That open recovers
    the WAL and, as RocksDB does by default (avoid_flush_during_recovery
    false), flushes what it replayed to a table file and records it in the
    MANIFEST before it returns; the child then exits without closing. The
    parent reads the result with the binding's API (a plain open, which
    only replays the new, empty, WAL). The child checks in LOG that RocksDB
    ran with the mode asked for."""

    ENUM = {
        "tolerate": ("kTolerateCorruptedTailRecords", 0),
        "absolute": ("kAbsoluteConsistency", 1),
        "pit": ("kPointInTimeRecovery", 2),
        "skip": ("kSkipAnyCorruptedRecords", 3),
    }

    def __init__(self):
        import rocksdb

        self.m = rocksdb

    def create(self, path):
        self.m.RocksDB(path, create_if_missing=True).close()

    def open(self, path, mode):
        import subprocess

        def opener():
            r = subprocess.run(
                [sys.executable, __file__, "amulet", "recover", path, mode],
                capture_output=True,
                text=True,
                check=False,
            )
            if r.returncode == 2 and r.stdout.strip():
                raise RuntimeError(r.stdout.strip())  # the open's Status
            if r.returncode != 0 or r.stdout.strip() != "OK":
                sys.exit(f"pyrocks.py amulet recover: exit {r.returncode}: {r.stdout} {r.stderr}")
            return self.m.RocksDB(path)

        return opener

    def recover(self, path, mode):
        import ctypes
        import glob

        here = os.path.dirname(self.m.__file__)
        lib = ctypes.CDLL(glob.glob(os.path.join(here, "_rocksdb*.so"))[0])
        cxx = ctypes.CDLL("libstdc++.so.6")

        def call(dll, name, *args):
            f = getattr(dll, name)
            f.restype = None
            f(*args)

        def buf(n=1 << 16):  # room for any of the objects; never freed
            return ctypes.create_string_buffer(n)

        def string(s):  # a std::string (libstdc++, C++11 ABI)
            b = buf(64)
            ctor = "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEC1EPKcRKS3_"
            call(cxx, ctor, b, ctypes.c_char_p(s.encode()), buf(8))
            return b

        def status(st):  # Status::ToString(), returned by hidden pointer
            out = buf(64)
            call(lib, "_ZNK7rocksdb6Status8ToStringB5cxx11Ev", out, st)
            data = ctypes.c_void_p.from_buffer(out, 0).value
            size = ctypes.c_size_t.from_buffer(out, 8).value
            return ctypes.string_at(data, size).decode()

        dbo, cfo, base, opts, cfg = buf(), buf(), buf(), buf(), buf()
        call(lib, "_ZN7rocksdb9DBOptionsC1Ev", dbo)
        call(lib, "_ZN7rocksdb19ColumnFamilyOptionsC1Ev", cfo)
        call(lib, "_ZN7rocksdb7OptionsC1ERKNS_9DBOptionsERKNS_19ColumnFamilyOptionsE", base, dbo, cfo)
        call(lib, "_ZN7rocksdb7OptionsC1ERKS0_", opts, base)
        call(lib, "_ZN7rocksdb13ConfigOptionsC1Ev", cfg)
        name, number = self.ENUM[mode]
        st = buf(64)
        call(
            lib,
            "_ZN7rocksdb20GetOptionsFromStringERKNS_13ConfigOptionsERKNS_7OptionsERK"
            "NSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEPS3_",
            st, cfg, base, string(f"create_if_missing=false;wal_recovery_mode={name}"), opts,
        )
        if status(st) != "OK":
            sys.exit(f"pyrocks.py: GetOptionsFromString: {status(st)}")
        st, db = buf(64), buf(8)
        call(
            lib,
            "_ZN7rocksdb2DB4OpenERKNS_7OptionsERKNSt7__cxx1112basic_stringIcSt11char_traits"
            "IcESaIcEEEPSt10unique_ptrIS0_St14default_deleteIS0_EE",
            st, opts, string(path), db,
        )
        result = status(st)
        with open(os.path.join(path, "LOG"), encoding="utf-8", errors="replace") as f:
            used = re.findall(r"Options\.wal_recovery_mode: ([0-9]+)", f.read())
        if used[-1:] != [str(number)]:
            sys.exit(f"pyrocks.py: LOG says wal_recovery_mode {used}, not {number} ({name})")
        print(result)
        sys.stdout.flush()
        os._exit(0 if result == "OK" else 2)  # no close: the recovery is already durable

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
        if len(argv) == 5 and argv[1:3] == ["amulet", "recover"] and argv[4] in MODES:
            return Amulet().recover(argv[3], argv[4])
    sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
