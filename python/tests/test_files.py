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
