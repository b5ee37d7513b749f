#!/usr/bin/env bash
# The main job: set up, build, and run the default liquid-state-machine experiment
# (models/digits_lsm.toml: the 1797 built-in 8x8 digits -> NALSM rate code ->
# 1000-neuron liquid -> softmax readout), printing its accuracies and writing
# results.json, learning_curve.png, confusion.png and raster.png under
# out/digits_lsm/. Extra arguments go to `astroglia experiment`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
./target/release/astroglia experiment models/digits_lsm.toml --out out/digits_lsm "$@"
