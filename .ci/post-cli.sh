#!/usr/bin/env bash
# CLI stage: the library's dependency graph holds none of the CLI's crates; the README's main
# command (`cargo run -- compare`, the blocklog-cli crate's binary) runs and prints the
# recovery-mode comparison table (what the harness measures); the chart and the log maps render,
# in SVG and PNG; the examples run; `cargo install --path cli` installs `blocklog`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- the library's dependencies (cargo tree -p blocklog -e normal)"
for features in "" "--features zstd"; do
    # shellcheck disable=SC2086
    deps=$(cargo tree -p blocklog -e normal --prefix none $features | sed 's/ (.*//' | sort -u)
    echo "blocklog ${features:-(default features)}: $(echo "$deps" | tr '\n' ' ')"
    if grep -E '^(clap|indicatif|plotters|serde_json) ' <<<"$deps"; then
        echo "the library depends on a CLI crate (above): it belongs in cli/" >&2
        exit 1
    fi
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "--- blocklog compare (built-in scenarios)"
cargo run --quiet -- compare --chart "$out/compare.svg" --save-scenarios "$out/scenarios"
test -s "$out/compare.svg" || { echo "no chart written"; exit 1; }
grep -q "skip-corrupt+scan" "$out/compare.svg" || { echo "chart lacks its legend"; exit 1; }
cargo run --quiet -- compare --chart "$out/compare.png" > /dev/null
head -c 8 "$out/compare.png" | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$' || { echo "no PNG chart written"; exit 1; }

echo "--- blocklog verify --map on the saved scenarios"
# Some scenarios hold interior damage that tolerate-tail refuses: exit status 1 is expected.
set +e
cargo run --quiet -- verify --map "$out/map.svg" "$out"/scenarios/*.log > "$out/verify.txt"
status=$?
set -e
grep -c "verdict" "$out/verify.txt" | sed 's/^/files verified: /'
grep "verdict" "$out/verify.txt" | sort | uniq -c
if [ "$status" != 1 ]; then
  echo "verify exited $status, expected 1 (some scenarios are refused)"
  exit 1
fi
test -s "$out/map.svg" || { echo "no map written"; exit 1; }
set +e
cargo run --quiet -- verify --map "$out/map.png" "$out"/scenarios/*.log > /dev/null
set -e
head -c 8 "$out/map.png" | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$' || { echo "no PNG map written"; exit 1; }
echo "PNG map: $(wc -c < "$out/map.png") bytes, PNG chart: $(wc -c < "$out/compare.png") bytes"

echo "--- examples"
cargo run --quiet -p blocklog --example replay | tail -4
cargo run --quiet -p blocklog --example recover
out_append=$(cargo run --quiet -p blocklog --example append_after_crash)
echo "$out_append" | tail -3
grep -q 'read back: 3 records, outcome clean' <<<"$out_append" || { echo "append_after_crash lost records"; exit 1; }

echo "--- cargo install --path cli (a debug build, reusing the tests' build)"
cargo install --quiet --locked --debug --path cli --root "$out/root" --target-dir target
"$out/root/bin/blocklog" --version
echo "cli stage ok"
