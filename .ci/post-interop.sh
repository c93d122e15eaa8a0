#!/usr/bin/env bash
# Interop, after the tests: the `zstd` feature (clippy, the codec's unit tests, RocksDB's
# compressed WALs read back), the engines replaying logs we wrote (including a zstd one), RocksDB's
# database directories read by the CLI (`dump --json DIR`, `verify DIR`), and
# the differential table (damage x mode: RocksDB 7.8.3 / LevelDB 1.23 outcome vs ours).
# Needs the generator built by .ci/pre-interop.sh (rebuilt here if missing). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
BLOCKLOG_INTEROP_GEN=$(tests/interop/gen/generate.sh build)
export BLOCKLOG_INTEROP_GEN

echo "--- clippy with the zstd feature"
cargo clippy -p blocklog --lib --features zstd --test interop_fixtures --test interop_engines \
  --test interop_differential -- -D warnings
cargo clippy -p blocklog-cli --features zstd -- -D warnings

echo "--- zstd feature: codec unit tests, real compressed WALs, engines (zstd log included)"
cargo test -p blocklog --features zstd --lib compression
cargo test -p blocklog --features zstd --test interop_fixtures --test interop_engines
cargo test -p blocklog-cli --features zstd --test cli dump_json_reads_the_engines_own_logs

echo "--- WAL directories RocksDB wrote (several WAL files, numbers skipping, purged, recycled), through the CLI"
cargo test -p blocklog-cli --test wal_dir rocksdb

echo "--- differential recovery (engine outcome vs ours; '(differs)' rows are in docs/recovery.md)"
cargo test -p blocklog --features zstd --test interop_differential -- --nocapture --test-threads 1 \
  | grep -E '^(\||[a-z-]+/[0-9]+\.log:|test result)'
echo "interop stage ok"
