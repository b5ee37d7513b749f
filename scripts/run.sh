#!/usr/bin/env bash
# The main job: set up, build, and simulate the reference networks shipped in models/
# (COBA benchmark and the Izhikevich 2003 network), writing summary.json, spikes.h5
# and raster.png under out/<model>/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
for m in coba izhikevich2003; do
  ./target/release/astroglia run "models/$m.toml" --out "out/$m" "$@"
done
