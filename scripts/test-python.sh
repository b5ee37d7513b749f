#!/usr/bin/env bash
# The Python bindings' part of the test suite (python/, docs/guide/python.md), run by
# scripts/test.sh after `cargo test --profile ci`. python/ is outside the workspace,
# so it is formatted and linted here; the extension is built in the `ci` profile into
# the same target directory, sharing the dependencies built before it; then the
# pytest suite runs, comparing spikes with the `astroglia` binary `cargo test` built
# (ASTROGLIA_BIN; built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
rustfmt --edition 2024 --check python/src/*.rs
ASTROGLIA_PY_PROFILE=ci bash scripts/setup-python.sh
(cd python && PYO3_PYTHON="$PWD/.venv/bin/python" cargo clippy --profile ci --quiet -- -D warnings)
export ASTROGLIA_BIN="${ASTROGLIA_BIN:-$CARGO_TARGET_DIR/ci/astroglia}"
[ -x "$ASTROGLIA_BIN" ] || cargo build --profile ci --quiet --bin astroglia
# pytest exits non-zero when it collects no test, so a broken collection fails too.
python/.venv/bin/pytest python/tests -q -p no:cacheprovider
