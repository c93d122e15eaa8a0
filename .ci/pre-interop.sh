#!/usr/bin/env bash
# Interop, before the tests: installs LevelDB 1.23 and RocksDB 7.8.3 (Debian packages, only
# what is missing) and builds the generator tests/interop/gen/out/gen, so that the main
# `cargo test` runs tests/interop_engines.rs and cli/tests/wal_dir.rs's RocksDB directories
# against the real engines (under CI those tests fail rather than skip when the generator is
# missing). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
gen=$(tests/interop/gen/generate.sh build)
test -x "$gen" || { echo "generator not built"; exit 1; }
echo "interop generator: $gen ($(( $(date +%s) - start )) s including installs)"
dpkg-query -W -f='${Package} ${Version}\n' libleveldb-dev librocksdb-dev rocksdb-tools
