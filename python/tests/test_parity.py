"""The same model and seed give the same spikes from Python as from the
command line (`astroglia run MODEL --seed S`, its summary.json's spikes_sha256),
on the CPU and on the GPU backend."""

from __future__ import annotations

import json
import subprocess

import pytest

import astroglia
from conftest import MODELS, backends

# (model, simulated ms, seed): short runs of three shipped models (a
# self-sustained COBA network, Izhikevich neurons with noise input, STDP with
# Poisson inputs).
CASES = [("coba.toml", 100.0, 3), ("izhikevich2003.toml", 200.0, 5), ("stdp_song.toml", 200.0, 2)]


def cli_summary(cli, model, duration_ms, seed, backend, tmp_path) -> dict:
    out = tmp_path / "out"
    subprocess.run(
        [str(cli), "run", str(MODELS / model), "--seed", str(seed), "--duration-ms",
         str(duration_ms), "--backend", backend, "--out", str(out), "--no-plot",
         "--no-hdf5", "--quiet"],
        check=True,
    )
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("model,duration_ms,seed", CASES)
def test_spikes_sha256_matches_cli(cli, tmp_path, model, duration_ms, seed, backend):
    expected = cli_summary(cli, model, duration_ms, seed, backend, tmp_path)
    net = astroglia.Network.from_file(MODELS / model).with_duration(duration_ms)
    sim = astroglia.Simulator(net, seed=seed, backend=backend)
    sim.run(net.duration_ms)
    got = sim.summary()
    assert got["backend"] == backend
    assert got["steps"] == expected["steps"]
    assert got["spikes_sha256"] == expected["spikes_sha256"], (model, seed, backend)
    assert {k: v["spikes"] for k, v in got["populations"].items()} == {
        k: v["spikes"] for k, v in expected["populations"].items()
    }
    total = sum(p["spikes"] for p in got["populations"].values())
    assert total > 0


def test_spikes_hash_from_arrays_matches_summary():
    """The arrays spikes() returns are the spikes the summary hashes."""
    import hashlib

    import numpy as np

    net = astroglia.Network.from_file(MODELS / "coba.toml")
    sim = astroglia.Simulator(net, seed=1)
    sim.run(50.0)
    # spikes_sha256 hashes (step, global id) pairs as little-endian u32 pairs,
    # sorted by step then id.
    steps, gids = [], []
    offset = 0
    for pop in net.populations:
        t, i = sim.spikes(pop)
        steps.append(np.rint(t / net.dt_ms).astype(np.uint32))
        gids.append(i + np.uint32(offset))
        offset += sim.population_size(pop)
    steps, gids = np.concatenate(steps), np.concatenate(gids)
    order = np.lexsort((gids, steps))
    pairs = np.stack([steps[order], gids[order]], axis=1).astype("<u4")
    assert hashlib.sha256(pairs.tobytes()).hexdigest() == sim.summary()["spikes_sha256"]
