"""Notebook-style walk-through: build an E/I network in code, run it, plot a raster.

    python python/examples/ei_raster.py [--out ei_raster.png]

Needs matplotlib (``ASTROGLIA_PY_EXAMPLES=1 bash scripts/setup-python.sh``).
"""

# %% Build the network: 800 excitatory and 200 inhibitory LIF neurons with
# random connectivity (p = 0.1) and a noisy background current, written with
# the same keys a model file uses.
from __future__ import annotations

import argparse

import numpy as np

import astroglia

net = (
    astroglia.NetworkBuilder(name="ei", dt_ms=0.1, duration_ms=500.0, seed=1)
    .population("exc", 800, lif={}, init={"v": {"uniform": {"low": -70.0, "high": -50.0}}})
    .population("inh", 200, lif={}, init={"v": {"uniform": {"low": -70.0, "high": -50.0}}})
    .projection("exc", "exc", connect={"fixed_probability": {"p": 0.1}}, weight=40.0)
    .projection("exc", "inh", connect={"fixed_probability": {"p": 0.1}}, weight=40.0)
    .projection("inh", "exc", connect={"fixed_probability": {"p": 0.1}}, weight=-160.0)
    .projection("inh", "inh", connect={"fixed_probability": {"p": 0.1}}, weight=-160.0)
    .input("noise", target="exc", mean=350.0, std=250.0)
    .input("noise", target="inh", mean=350.0, std=250.0)
    .build()
)
print(net)

# %% Run it on the CPU (backend="gpu" runs the same spikes on a GPU).
sim = astroglia.Simulator(net, seed=1)
sim.run(net.duration_ms)
summary = sim.summary()
for pop, s in summary["populations"].items():
    print(f"{pop}: {s['spikes']} spikes, {s['rate_hz']:.1f} Hz, CV ISI {s['cv_isi']}")

# %% The spikes as NumPy arrays: times in ms (float64) and local ids (uint32).
t_exc, id_exc = sim.spikes("exc")
t_inh, id_inh = sim.spikes("inh")

# %% Plot a raster (inhibitory neurons above the excitatory ones) and the rate.
if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="ei_raster.png")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_rate) = plt.subplots(2, 1, sharex=True, figsize=(8, 6), height_ratios=[3, 1])
    ax.scatter(t_exc, id_exc, s=0.5, c="tab:blue", label="exc")
    ax.scatter(t_inh, id_inh + 800, s=0.5, c="tab:red", label="inh")
    ax.set_ylabel("neuron")
    ax.legend(loc="upper right", markerscale=10)
    bins = np.arange(0.0, net.duration_ms + 5.0, 5.0)
    counts, _ = np.histogram(np.concatenate([t_exc, t_inh]), bins)
    ax_rate.plot(bins[:-1], counts / 1000 / 5e-3)
    ax_rate.set_xlabel("time (ms)")
    ax_rate.set_ylabel("rate (Hz)")
    fig.suptitle(f"{summary['model']}: seed {summary['seed']}, {summary['duration_ms']} ms")
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
