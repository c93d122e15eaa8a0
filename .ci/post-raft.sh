#!/usr/bin/env bash
# Raft stage: the long kill -9 run of the log store (150 rounds of a child process voting,
# appending, truncating and purging, killed at random acknowledgements; `cargo test` runs 40), then
# the three-node example cluster (a node stopped and restarted from its WAL catches up).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- blocklog-raft: long crash run"
cargo test --quiet -p blocklog-raft --test crash -- --ignored --nocapture 2>&1 | grep -E "raft crash test|test result"

echo "--- blocklog-raft: the three-node example"
out=$(cargo run --quiet -p blocklog-raft --example cluster)
echo "$out" | tail -5
grep -q 'caught up' <<<"$out" || { echo "the restarted node did not catch up"; exit 1; }
echo "raft stage ok"
