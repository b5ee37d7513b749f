#!/usr/bin/env bash
# The whole test suite: set up, formatting, lints, API docs, then every unit, integration and
# doc test (release profile: the reference-network tests simulate seconds of activity).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --all-targets --release --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo test --release
