#!/usr/bin/env bash
# Reliability stage (docs/reliability.md): the larger crash simulation, then
# each cargo-fuzz target for a bounded time when a nightly toolchain exists.
# Idempotent; installs cargo-fuzz if missing; exits non-zero on any failure.
# FUZZ_SECONDS (default 45) bounds each target's run.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-45}"

echo "--- crash simulation, larger run (reuses the test build)"
cargo test -p blocklog --test crash_sim -- --ignored --nocapture crash_points_full
echo "--- WAL directory crash simulation, larger run (24 seeds, every state of every step)"
cargo test -p blocklog --test wal_crash -- --ignored --nocapture --exact wal_crash_every_step_full
echo "--- WAL directory crash simulation with purge, recycling, preallocation (12 seeds)"
cargo test -p blocklog --test wal_crash -- --ignored --nocapture wal_crash_every_step_purge_recycle_full
echo "--- SharedWal (group commit) directory crash simulation, larger run (12 seeds, every state of every step)"
cargo test -p blocklog --test wal_crash -- --ignored --nocapture shared_wal_crash_every_step_full

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "--- no nightly toolchain: fuzzing skipped"
    exit 0
fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "--- installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz --version

cd fuzz
echo "--- building the fuzz targets"
cargo +nightly fuzz build -O --sanitizer none

status=0
for target in read_any corrupt_roundtrip write_read decode_splits crc; do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    # The `crc` target has no committed seeds.
    seeds=()
    if [ -d "seeds/$target" ]; then seeds=("seeds/$target"); fi
    log="$(mktemp)"
    echo "--- fuzzing $target for ${FUZZ_SECONDS}s"
    if cargo +nightly fuzz run -O --sanitizer none "$target" "$corpus" "${seeds[@]}" -- \
        -max_len=131072 -max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
        cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)
        echo "$target: ${runs:-?} (${cov:-no coverage line}); crashes: 0"
    else
        echo "$target: FAILED; the end of the log:"
        tail -n 60 "$log"
        ls -l "artifacts/$target" 2>/dev/null || true
        status=1
    fi
    rm -f "$log"
done
exit "$status"
