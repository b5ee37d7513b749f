"""Times whole ``Simulator.run(1000.0)`` calls of the COBA benchmark from Python,
as examples/time_coba.rs does through the Rust API, and prints the minimum and
median (on a shared machine noise only adds time: the minimum is the repeatable
figure). The two together give the bindings' overhead:

    cargo run --profile ci --example time_coba -- 10
    python/.venv/bin/python python/benchmarks/time_coba.py 10
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

import astroglia

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    model = ROOT / (sys.argv[2] if len(sys.argv) > 2 else "models/coba.toml")
    net = astroglia.Network.from_file(model)
    whole, backend, sha = [], [], ""
    for _ in range(max(runs, 1)):
        sim = astroglia.Simulator(net, seed=1)
        t = time.perf_counter()
        sim.run(1000.0)
        whole.append(time.perf_counter() - t)
        s = sim.summary()
        backend.append(s["sim_s"])
        sha = s["spikes_sha256"]
    print(
        f"{model}, 1 s of biological time, {len(whole)} runs: run min {min(whole):.4f} s, "
        f"median {statistics.median(whole):.4f} s; backend loop min {min(backend):.4f} s; "
        f"spikes_sha256 {sha[:12]}"
    )


if __name__ == "__main__":
    main()
