#!/usr/bin/env bash
# Group commit under real crashes: 200 rounds of SIGKILL of a process whose
# threads append to a SharedWal with SyncPolicy::Always; zero acknowledged
# appends may be lost (tests/group_crash.rs; `cargo test` runs 20 rounds).
# About 20 s here.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --test group_crash -- --ignored --nocapture
# The group-commit bench in criterion's test mode (one iteration each, no
# timing): it must build and its checks pass.
cargo test --bench group_commit
