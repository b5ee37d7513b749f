"""The simulator's control calls from Python: networks from dicts and the
builder, inputs set between runs, reset, store/restore, the summary."""

from __future__ import annotations

import numpy as np
import pytest

import astroglia
from conftest import MODELS


def small_net(**kw):
    return (
        astroglia.NetworkBuilder(name="small", dt_ms=0.1, duration_ms=100.0, seed=4)
        .population("drive", 50, poisson={"rate_hz": 0.0})
        .population("cells", 20, lif={}, init={"v": {"uniform": {"low": -70.0, "high": -55.0}}})
        .population("clamped", 5, lif={})
        .projection("drive", "cells", connect={"all_to_all": {}}, weight=200.0, **kw)
        .input("current", target="clamped", amplitude=0.0)
        .monitor("spikes", population="cells")
        .monitor("spikes", population="clamped")
        .monitor("spikes", population="drive")
        .build()
    )


def test_builder_equals_dict_equals_toml():
    net = small_net()
    d = net.to_dict()
    assert astroglia.Network.from_dict(d).to_dict() == d
    assert astroglia.Network.from_toml(net.to_toml()).to_dict() == d
    assert net.populations == ["drive", "cells", "clamped"]
    assert net.projections == ["drive->cells"]
    assert (net.dt_ms, net.duration_ms, net.seed, net.name) == (0.1, 100.0, 4, "small")
    assert "small" in repr(net)


def test_dict_with_none_and_ints():
    net = astroglia.Network.from_dict(
        {"name": None, "dt_ms": 1, "populations": [{"name": "n", "size": 3, "lif": {}}]}
    )
    assert net.dt_ms == 1.0 and net.name is None


def test_set_rates_drives_the_network():
    sim = astroglia.Simulator(small_net())
    sim.run(50.0)
    assert len(sim.spikes("drive")[0]) == 0
    sim.set_rates("drive", 100.0)
    sim.run(50.0)
    t, _ = sim.spikes("drive")
    assert len(t) > 0 and t.min() >= 50.0
    sim.set_rates("drive", np.r_[np.zeros(25), np.full(25, 200.0)])
    sim.drain_spikes()
    sim.run(50.0)
    _, ids = sim.spikes("drive")
    assert ids.min() >= 25
    assert sim.time_ms == pytest.approx(150.0) and sim.steps_done == 1500


def test_set_current():
    sim = astroglia.Simulator(small_net())
    sim.run(20.0)
    assert len(sim.spikes("clamped")[0]) == 0
    sim.set_current("clamped", 1000.0)
    sim.run(50.0)
    assert len(sim.spikes("clamped")[0]) > 0


def test_reset_and_store_restore_reproduce_runs():
    net = astroglia.Network.from_file(MODELS / "coba.toml")
    sim = astroglia.Simulator(net, seed=1)
    sim.run(20.0)
    first = sim.summary()["spikes_sha256"]
    sim.reset()
    sim.run(10.0)
    sim.store("warm")
    sim.run(10.0)
    assert sim.summary()["spikes_sha256"] == first
    sim.restore("warm")
    assert sim.steps_done == 100
    sim.run(10.0)
    assert sim.summary()["spikes_sha256"] == first


def test_spike_source():
    net = astroglia.Network.from_dict(
        {
            "dt_ms": 0.1,
            "populations": [{"name": "src", "size": 4, "spike_source": {}}],
            "monitors": {"spikes": [{"population": "src"}]},
        }
    )
    sim = astroglia.Simulator(net)
    sim.set_spike_source("src", np.array([1.0, 2.5, 2.5]), np.array([3, 0, 1], dtype=np.uint32))
    sim.run(5.0)
    t, ids = sim.spikes("src")
    assert t.tolist() == pytest.approx([1.0, 2.5, 2.5])
    assert ids.tolist() == [3, 0, 1]


def test_summary_is_a_dict():
    sim = astroglia.Simulator(small_net(), seed=9)
    sim.run(10.0)
    s = sim.summary()
    assert s["seed"] == 9 and s["backend"] == "cpu" and s["steps"] == 100
    assert len(s["spikes_sha256"]) == 64
    assert set(s["populations"]) == {"drive", "cells", "clamped"}
    assert s["populations"]["cells"]["size"] == 20


def test_batch_instances():
    net = astroglia.Network.from_file(MODELS / "coba.toml")
    sim = astroglia.Simulator(net, seed=3, batch=2)
    assert sim.batch == 2
    sim.run(10.0)
    s = sim.summary()
    assert [i["seed"] for i in s["instances"]] == [3, 4]
    assert sim.state("exc", "v", instance=1).shape == (3200,)
    t0, _ = sim.spikes("exc", instance=0)
    t1, _ = sim.spikes("exc", instance=1)
    assert len(t0) != len(t1) or not np.array_equal(t0, t1)


def test_plastic_weights_and_modulator_errors():
    net = astroglia.Network.from_file(MODELS / "stdp_song.toml")
    sim = astroglia.Simulator(net, seed=1)
    assert sim.weight_unit("stdp") in ("mV", "pA", "nS")
    # Plain STDP has no modulator: a typed error, not a crash.
    with pytest.raises(astroglia.AstrogliaError):
        sim.set_modulator("stdp", 1.0)


def test_gpu_backend_or_typed_error():
    net = astroglia.Network.from_file(MODELS / "coba.toml")
    if astroglia.gpu_available():
        sim = astroglia.Simulator(net, backend="gpu", seed=1)
        sim.run(5.0)
        assert sim.summary()["backend"] == "gpu"
    else:
        with pytest.raises(astroglia.GpuError):
            astroglia.Simulator(net, backend="gpu")
