#!/usr/bin/env bash
# Tools the tests use beyond the toolchain: strace (cli/tests/cli.rs checks the
# order of recover's fsync, rename and directory fsync with it; under CI=true
# that test fails rather than skips without it). Installs only what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v strace >/dev/null; then
    apt-get update -qq && apt-get install -y -qq strace >/dev/null
fi
strace -V | head -1
