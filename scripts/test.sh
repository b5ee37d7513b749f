#!/usr/bin/env bash
# The whole test suite: set up, formatting, lints, API docs, then every unit, integration and
# doc test, in the `ci` profile (Cargo.toml): optimised, since the reference-network tests
# simulate seconds of activity, but without release's LTO, which takes minutes per binary;
# then the Python bindings' build and pytest suite (scripts/test-python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all -- --check
# The fuzz package is outside the workspace (fuzz/README.md): its formatting is checked here.
rustfmt --edition 2024 --check fuzz/src/lib.rs fuzz/fuzz_targets/*.rs
cargo clippy --all-targets --profile ci --quiet -- -D warnings
# The core (docs/features.md): the CPU engine alone, none of the heavy dependencies.
heavy=$(cargo tree --no-default-features -e normal --prefix none --format '{p}' |
  awk '{print $1}' | sort -u | grep -E '^(wgpu|naga|hdf5|plotters|clap)([-_]|$)' || true)
if [ -n "$heavy" ]; then
  echo "the core (--no-default-features) depends on: $heavy" >&2
  exit 1
fi
cargo clippy --no-default-features --lib --tests --profile ci --quiet -- -D warnings
# The core's integration tests (a few minutes; its unit tests are the default build's).
cargo test --profile ci --no-default-features --test tests
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
cargo test --profile ci
# The Python bindings (python/): build, clippy and pytest, against the binary just built.
bash scripts/test-python.sh
# Fuzz smoke, opt-in (ASTROGLIA_FUZZ_SMOKE=1): a few seconds per target, but it installs
# cargo-fuzz and builds every target with coverage instrumentation (minutes on 2 cores,
# needs crates.io and a C++ compiler).
if [ "${ASTROGLIA_FUZZ_SMOKE:-0}" = 1 ]; then
  bash scripts/fuzz.sh 5
fi
