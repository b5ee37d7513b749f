"""File formats from Python: IDX arrays and NIR graphs."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import astroglia
from conftest import ROOT

IDX = ROOT / "fuzz" / "seeds" / "idx"


@pytest.mark.parametrize(
    "name,dtype,shape",
    [
        ("u8_3x2x2.idx", np.uint8, (3, 2, 2)),
        ("u8_4x3x3.idx.gz", np.uint8, (4, 3, 3)),
        ("i8_2x3.idx", np.int8, (2, 3)),
        ("i16_2x2.idx", np.int16, (2, 2)),
        ("i32_2.idx", np.int32, (2,)),
        ("f32_2x2.idx", np.float32, (2, 2)),
        ("f32_3x2.idx.gz", np.float32, (3, 2)),
        ("f64_3.idx", np.float64, (3,)),
        ("u8_labels5.idx", np.uint8, (5,)),
        ("empty_0x4.idx", np.uint8, (0, 4)),
    ],
)
def test_read_idx(name, dtype, shape):
    a = astroglia.read_idx(IDX / name)
    assert a.dtype == np.dtype(dtype) and a.shape == shape
    assert not a.flags.owndata  # a view of the Rust Vec handed over


def test_read_idx_errors(tmp_path):
    with pytest.raises(astroglia.DataError) as info:  # a data file, missing
        astroglia.read_idx(tmp_path / "missing.idx")
    assert info.value.path == str(tmp_path / "missing.idx")
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x00\x00\x42\x01\x00\x00\x00\x05")
    with pytest.raises(astroglia.AstrogliaError) as info:
        astroglia.read_idx(bad)
    assert str(bad) in str(info.value)


SMALL = """\
dt_ms = 1.0
[[populations]]
name = "in"
size = 3
spike_source = {}
[[populations]]
name = "cells"
size = 2
lif = { t_ref_ms = 0.0, synapse = "delta" }
[[projections]]
from = "in"
to = "cells"
connect = { all_to_all = {} }
weight = 1.5
"""


def test_nir_round_trip(tmp_path: pathlib.Path):
    net = astroglia.Network.from_toml(SMALL, "small.toml")
    path = tmp_path / "small.nir"
    info = astroglia.nir_export(net, path)
    assert info["nodes"] == 4 and info["edges"] == 3, info
    back, imported = astroglia.nir_import(path, dt_ms=1.0, duration_ms=50.0)
    assert back.dt_ms == 1.0 and back.duration_ms == 50.0
    assert len(back.populations) == 2
    assert imported["inputs"] and imported["outputs"]
    sim = astroglia.Simulator(back)
    sim.run(10.0)


def test_nir_errors(tmp_path):
    with pytest.raises(astroglia.AstrogliaError):
        astroglia.nir_import(tmp_path / "missing.nir")
    net = astroglia.Network.from_file(ROOT / "models" / "coba.toml")
    with pytest.raises(astroglia.NirError, match="population 'exc': lif_cond neurons have no NIR"):
        astroglia.nir_export(net, tmp_path / "coba.nir")


NMNIST = ROOT / "tests" / "data" / "nmnist" / "tonic_sample_nmnist.bin"
SHD_REAL = ROOT / "tests" / "data" / "shd_like" / "lauscher_spoken_digit_shd_layout.h5"


def test_read_nmnist():
    d = astroglia.read_nmnist(NMNIST)
    assert (d["width"], d["height"], d["polarities"]) == (34, 34, 2)
    for key, dtype in [("x", np.uint16), ("y", np.uint16), ("p", np.uint8), ("t_us", np.uint64)]:
        assert d[key].dtype == dtype and d[key].shape == (4325,)
        assert not d[key].flags.owndata
    first = list(zip(d["x"][:3], d["y"][:3], d["p"][:3], d["t_us"][:3]))
    assert first == [(7, 15, 1, 654), (19, 18, 0, 2999), (21, 17, 0, 3017)]


def test_read_nmnist_truncated(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(NMNIST.read_bytes()[:502])
    with pytest.raises(astroglia.DataError, match="truncated"):
        astroglia.read_nmnist(bad)


def test_read_shd_refuses_unknown_label():
    # The real sample in tests/data has label 65535 ("unknown").
    with pytest.raises(astroglia.DataError, match=r"labels\[0\] = 65535 is outside the 20 classes"):
        astroglia.read_shd(SHD_REAL)


def test_read_shd(tmp_path):
    import h5py  # a test requirement (scripts/setup-python.sh installs it)
    path = tmp_path / "shd.h5"
    times = [np.array([0.5, 0.25, 0.75], np.float16), np.array([], np.float16)]
    units = [np.array([699, 0, 3], np.uint16), np.array([], np.uint16)]
    with h5py.File(path, "w") as f:
        f.create_dataset("spikes/times", data=np.array(times, dtype=object), dtype=h5py.vlen_dtype(np.float16))
        f.create_dataset("spikes/units", data=np.array(units, dtype=object), dtype=h5py.vlen_dtype(np.uint16))
        f.create_dataset("labels", data=np.array([3, 19], np.uint16))
    samples, labels = astroglia.read_shd(path)
    assert labels.dtype == np.uint32 and labels.tolist() == [3, 19]
    assert len(samples) == 2
    t, u = samples[0]
    assert t.dtype == np.float64 and u.dtype == np.uint32
    assert t.tolist() == [0.5, 0.25, 0.75] and u.tolist() == [699, 0, 3]
    assert len(samples[1][0]) == 0
    with pytest.raises(astroglia.ArgumentError):
        astroglia.read_shd(path, layout="timit")
