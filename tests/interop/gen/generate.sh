#!/usr/bin/env bash
# Builds the interop fixture generator and (re)writes tests/interop/fixtures/.
#   generate.sh          install deps if missing, build, write fixtures
#   generate.sh build    install deps if missing, build only; prints the binary path
# The binary goes to tests/interop/gen/out/gen (ignored by git); override the
# scratch directory with GEN_WORK=/some/dir.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
interop="$(dirname "$here")"
out="$here/out"
work="${GEN_WORK:-$out/work}"

need=()
for pkg in libleveldb-dev librocksdb-dev rocksdb-tools g++; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y "${need[@]}" >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y "${need[@]}" >&2; }
fi

mkdir -p "$out"
if [ ! -x "$out/gen" ] || [ "$here/gen.cc" -nt "$out/gen" ]; then
  g++ -std=c++17 -O1 -Wall -o "$out/gen.tmp" "$here/gen.cc" -lrocksdb -lleveldb -lpthread
  mv "$out/gen.tmp" "$out/gen"
fi
if [ "${1:-}" = "build" ]; then echo "$out/gen"; exit 0; fi

rm -rf "$work" "$interop/fixtures"
mkdir -p "$work" "$interop/fixtures"
"$out/gen" all "$interop/fixtures" "$work" > "$out/outcome-tables.md"

# Cross-check with RocksDB's own WAL dumper: same number of batches.
for exp in "$interop"/fixtures/*/*.expected.txt; do
  wal="${exp%.expected.txt}"
  want=$(awk '$1=="batches"{print $2}' "$exp")
  got=$(ldb dump_wal --walfile="$wal" 2>/dev/null | grep -cE '^[0-9]+,[0-9]+,' || true)
  echo "$(basename "$(dirname "$wal")")/$(basename "$wal"): expected $want batches, ldb dump_wal shows $got" >&2
  [ "$want" = "$got" ] || { echo "MISMATCH" >&2; exit 1; }
done
rm -rf "$work"
echo "fixtures written to $interop/fixtures; outcome tables in $out/outcome-tables.md" >&2
