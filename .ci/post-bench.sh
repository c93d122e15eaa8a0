#!/usr/bin/env bash
# Benchmarks stage: no timing in CI (2 shared cores make timings noise). It
# runs every bench binary once in criterion's test mode on small inputs
# (already compiled by `cargo test --all-targets`), so a bench that no
# longer builds or whose checks fail turns CI red, and prints the reader
# memory table (a count of heap bytes, not a timing). The full runs and
# their ratio tables: scripts/bench.sh, results in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; }
cargo test -p blocklog --bench throughput --bench recovery --bench wal
cargo test -p blocklog --bench memory
# The report script must still parse criterion's layout: feed it a tiny fake run.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/write-100B/crc32c/new" "$tmp/write-100B/legacy-mem/new" "$tmp/write-100B/memcpy/new"
for b in crc32c:1000 memcpy:500 legacy-mem:3000; do
    printf '{"median":{"point_estimate":%s}}' "${b#*:}" >"$tmp/write-100B/${b%%:*}/new/estimates.json"
done
printf 'id\trecords\tpayload_bytes\tlog_bytes\nwrite-100B/crc32c\t10\t1000\t1070\nwrite-100B/memcpy\t10\t1000\t1070\nwrite-100B/legacy-mem\t10\t1000\t1070\n' >"$tmp/blocklog-work-throughput.tsv"
out=$(python3 scripts/perf/report.py "$tmp")
echo "$out"
grep -q '| write-100B/legacy-mem | 3.3 M | 0.33 | 33 % | 50 % | crc32c + memcpy |' <<<"$out" || {
    echo "report.py: unexpected table" >&2
    exit 1
}
echo "bench stage: benches ran in test mode; report script checked"
