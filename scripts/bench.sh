#!/usr/bin/env bash
# Runs blocklog's benchmarks and prints the ratio tables of docs/performance.md.
#
#   scripts/bench.sh                 # throughput, recovery, memory, peers
#   scripts/bench.sh throughput      # one of: throughput recovery memory peers group synced report
#   scripts/bench.sh throughput 100B # extra arguments go to criterion (a filter)
#
# Results: criterion's estimates under $CARGO_TARGET_DIR/criterion (default
# ./target), turned into tables by scripts/perf/report.py. Every ratio is
# taken within one run: each bench measures its own baselines (crc32c,
# memcpy, read(2)/write(2)) over the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$PWD/$CARGO_TARGET_DIR" ;; esac
what="${1:-all}"
shift || true
crit="$CARGO_TARGET_DIR/criterion"

run() { # name [criterion args...]
    local name="$1"
    shift
    case "$name" in
    throughput | recovery) cargo bench --bench "$name" -- "$@" ;;
    memory) cargo bench --bench memory ;;
    peers) (cd benches/peers && cargo bench --bench peers -- "$@") ;;
    group) cargo bench --bench group_commit -- "$@" ;;
    synced) (cd benches/peers && cargo bench --bench synced -- "$@") ;;
    report) ;;
    *) echo "unknown bench: $name" >&2; exit 2 ;;
    esac
}

if [ "$what" = all ]; then
    for b in throughput recovery peers group synced; do run "$b"; done
    mem=$(cargo bench --bench memory 2>/dev/null)
else
    if [ "$what" = memory ]; then mem=$(cargo bench --bench memory 2>/dev/null); else run "$what" "$@"; fi
fi

echo
echo "## Results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
echo
python3 scripts/perf/report.py "$crit"
if [ -n "${mem:-}" ]; then
    echo "### Reader memory"
    echo
    echo "$mem"
fi
