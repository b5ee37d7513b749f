"""A closed loop: every 10 ms of simulated time, Python reads the excitatory
rate of the last 10 ms and sets the rate of the Poisson drive to steer it
towards a target (a proportional-integral controller).

    python python/examples/closed_loop.py [--target-hz 8] [--ms 1000]
"""

from __future__ import annotations

import argparse

import numpy as np

import astroglia

parser = argparse.ArgumentParser()
parser.add_argument("--target-hz", type=float, default=8.0)
parser.add_argument("--ms", type=float, default=1000.0)
args = parser.parse_args()

net = (
    astroglia.NetworkBuilder(name="closed_loop", dt_ms=0.1, seed=3)
    .population("drive", 200, poisson={"rate_hz": 0.0})
    .population("exc", 400, lif={}, init={"v": {"uniform": {"low": -70.0, "high": -55.0}}})
    .population("inh", 100, lif={})
    .projection("drive", "exc", connect={"fixed_probability": {"p": 0.1}}, weight=60.0)
    .projection("exc", "inh", connect={"fixed_probability": {"p": 0.1}}, weight=40.0)
    .projection("inh", "exc", connect={"fixed_probability": {"p": 0.1}}, weight=-100.0)
    .build()
)
sim = astroglia.Simulator(net, seed=3)
n_exc = sim.population_size("exc")

rate_in, integral = 0.0, 0.0
history = []
for k in range(int(args.ms / 10.0)):
    sim.set_rates("drive", rate_in)
    sim.run(10.0)
    _, ids = sim.drain_spikes()["exc"]
    rate = len(ids) / n_exc / 0.010  # Hz over the last 10 ms
    error = args.target_hz - rate
    integral += error
    rate_in = float(np.clip(2.0 * error + 1.0 * integral, 0.0, 1000.0))
    history.append(rate)
    if k % 10 == 9:
        print(f"{sim.time_ms:7.1f} ms: exc {np.mean(history[-10:]):5.1f} Hz, drive {rate_in:6.1f} Hz")

last = np.mean(history[-20:])
print(f"last 200 ms: {last:.1f} Hz (target {args.target_hz} Hz)")
