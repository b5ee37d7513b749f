"""Arrays come from Rust without a copy: the Vec the simulator filled is handed
to NumPy, so the array does not own its data (flags.owndata is False) and its
base is the Rust container. Documented dtypes and shapes."""

from __future__ import annotations

import numpy as np
import pytest

import astroglia
from conftest import MODELS


def assert_rust_owned(a: np.ndarray, dtype, shape):
    assert isinstance(a, np.ndarray)
    assert a.dtype == np.dtype(dtype)
    assert a.shape == shape
    assert not a.flags.owndata, "NumPy must not have copied the data"
    assert a.base is not None and not isinstance(a.base, np.ndarray)
    assert type(a.base).__name__ == "PySliceContainer"  # the Rust Vec's owner
    assert a.flags.c_contiguous and a.flags.writeable


@pytest.fixture(scope="module")
def stdp():
    net = astroglia.Network.from_file(MODELS / "stdp_song.toml")
    sim = astroglia.Simulator(net, seed=1)
    sim.run(200.0)
    return sim


@pytest.fixture(scope="module")
def coba():
    sim = astroglia.Simulator(astroglia.Network.from_file(MODELS / "coba.toml"), seed=1)
    sim.run(50.0)
    return sim


def test_spikes(coba):
    t, ids = coba.spikes("exc")
    n = len(t)
    assert n > 0
    assert_rust_owned(t, np.float64, (n,))
    assert_rust_owned(ids, np.uint32, (n,))
    assert (np.diff(t) >= 0).all() and t.max() < 50.0
    assert ids.max() < 3200
    assert n == coba.summary()["populations"]["exc"]["spikes"]


def test_state(coba):
    v = coba.state("exc", "v")
    assert_rust_owned(v, np.float32, (3200,))
    assert np.isfinite(v).all()


def test_weights(stdp):
    w = stdp.weights("stdp")
    assert_rust_owned(w, np.float32, (1000,))
    w2 = np.clip(w * 0.5, 0, None)
    stdp.set_weights("stdp", w2)  # any float array-like is converted
    assert np.array_equal(stdp.weights("stdp"), w2.astype(np.float32))
    stdp.set_weights("stdp", w)
    assert np.array_equal(stdp.weights("stdp"), w)


def test_arrays_are_independent_copies_of_the_state(coba):
    v = coba.state("inh", "v")
    v[:] = 0.0  # the array is the caller's: writing it changes nothing in the simulator
    assert not (coba.state("inh", "v") == 0.0).all()


def test_drain_spikes():
    sim = astroglia.Simulator(astroglia.Network.from_file(MODELS / "coba.toml"), seed=2)
    total = 0
    for _ in range(5):
        sim.run(5.0)
        chunk = sim.drain_spikes()
        assert set(chunk) == {"exc", "inh"}
        for t, ids in chunk.values():
            assert_rust_owned(t, np.float64, ids.shape)
            assert_rust_owned(ids, np.uint32, t.shape)
            total += len(ids)
    assert total == sum(p["spikes"] for p in sim.summary()["populations"].values())
    assert len(sim.spikes("exc")[0]) == 0  # drained


def test_digits():
    images, labels = astroglia.digits()
    assert images.shape == (1797, 64) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    assert not images.flags.owndata and not labels.flags.owndata
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert set(np.unique(labels)) == set(range(10))
