#!/usr/bin/env bash
# Interop, before the tests: installs LevelDB 1.23 and RocksDB 7.8.3 (Debian packages, only
# what is missing) and builds the generator tests/interop/gen/out/gen, so that the main
# `cargo test` runs tests/interop_engines.rs and cli/tests/wal_dir.rs's RocksDB directories
# against the real engines (under CI those tests
# fail rather than skip when the generator is missing). Then the newer RocksDB releases of
# two PyPI wheels, in a venv in the target directory (TARGET/interop-venv, where the tests
# look): rocksdict 0.3.29 (RocksDB 9.8.4) and amulet-rocksdb 1.0.6 (RocksDB 11.1.2), driven
# by tests/interop/pyrocks/pyrocks.py. Without pip or the network that part is skipped with
# a message (the tests then skip too), except under CI, where it fails. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
gen=$(tests/interop/gen/generate.sh build)
test -x "$gen" || { echo "generator not built"; exit 1; }
echo "interop generator: $gen ($(( $(date +%s) - start )) s including installs)"
dpkg-query -W -f='${Package} ${Version}\n' libleveldb-dev librocksdb-dev rocksdb-tools

# The wheels' versions are pinned: the tests pin what these RocksDB releases do.
wheels=(rocksdict==0.3.29 amulet-rocksdb==1.0.6)
venv="${CARGO_TARGET_DIR:-target}/interop-venv"
py="$venv/bin/python"
check='import rocksdict, rocksdb, importlib.metadata as m; print("rocksdict", m.version("rocksdict"), "amulet-rocksdb", m.version("amulet-rocksdb"))'
installed() { [ -x "$py" ] && [ "$("$py" -c "$check" 2>/dev/null)" = "rocksdict 0.3.29 amulet-rocksdb 1.0.6" ]; }
give_up() {
  if [ -n "${CI:-}" ]; then echo "CI: $1" >&2; exit 1; fi
  echo "SKIPPED (the newer-RocksDB interop tests will skip): $1" >&2
  exit 0
}
if ! installed; then
  start=$(date +%s)
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y python3-venv >&2 \
      || { $SUDO apt-get update >&2 && $SUDO apt-get install -y python3-venv >&2; } \
      || give_up "python3-venv cannot be installed"
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" || give_up "python3 -m venv $venv failed"
  "$py" -m pip install --quiet --only-binary :all: "${wheels[@]}" \
    || give_up "pip install ${wheels[*]} failed (no network or no PyPI?)"
  installed || give_up "$py does not import ${wheels[*]}"
  echo "interop venv: $venv ($(( $(date +%s) - start )) s)"
fi
"$py" -c "$check"
