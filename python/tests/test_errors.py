"""Bad input raises a typed exception (a subclass of astroglia.AstrogliaError,
and of the built-in exception a Python program expects) whose message names the
file, line and field where there are any; nothing crashes the interpreter."""

from __future__ import annotations

import errno

import numpy as np
import pytest

import astroglia
from astroglia import (
    ArgumentError,
    AstrogliaError,
    AstrogliaIOError,
    ModelError,
    UnknownNameError,
)

GOOD = """\
name = "small"
dt_ms = 0.1
duration_ms = 50.0

[[populations]]
name = "input"
size = 20
poisson = { rate_hz = 50.0 }

[[populations]]
name = "cells"
size = 10
lif = {}

[[projections]]
from = "input"
to = "cells"
connect = { all_to_all = {} }
weight = 300.0
"""


def sim() -> astroglia.Simulator:
    return astroglia.Simulator(astroglia.Network.from_toml(GOOD, "small.toml"), seed=1)


def model_error(text: str, name: str = "bad.toml") -> ModelError:
    with pytest.raises(ModelError) as info:
        astroglia.Network.from_toml(text, name)
    e = info.value
    assert isinstance(e, AstrogliaError)
    assert e.source == name and e.kind == "model"
    assert str(e).startswith(f"{name}: invalid model: ")
    assert e.issues, "at least one issue"
    return e


def test_good_model_parses():
    assert astroglia.Network.from_toml(GOOD).populations == ["input", "cells"]


def test_syntax_error_names_line():
    e = model_error(GOOD.replace('size = 10', 'size = = 10'))
    (issue,) = e.issues
    assert issue["field"] == "syntax" and issue["line"] == 12
    assert "line 12" in str(e)


def test_unknown_key_names_line_and_field():
    e = model_error(GOOD.replace("lif = {}", "lif = {}\ncolour = 3"))
    (issue,) = e.issues
    assert issue["line"] == 14
    assert issue["field"] == "populations[1].colour"
    assert "colour" in issue["message"]
    assert "line 14" in str(e)


def test_negative_size_names_line_and_field():
    e = model_error(GOOD.replace("size = 10", "size = -10"))
    (issue,) = e.issues
    assert issue["field"] == "populations[1].size"
    assert issue["line"] == 12
    assert "line 12: populations[1].size" in str(e)


def test_unknown_population_in_projection():
    e = model_error(GOOD.replace('to = "cells"', 'to = "cels"'))
    (issue,) = e.issues
    assert issue["field"] == "projections[0].to"
    assert issue["line"] == 17
    assert "cels" in issue["message"]


def test_several_issues_in_file_order():
    bad = GOOD.replace("dt_ms = 0.1", "dt_ms = -0.1").replace('to = "cells"', 'to = "x"')
    e = model_error(bad)
    assert [i["field"] for i in e.issues] == ["dt_ms", "projections[0].to"]
    assert [i["line"] for i in e.issues] == [2, 17]


def test_error_in_file_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace("size = 20", 'size = "twenty"'))
    with pytest.raises(ModelError) as info:
        astroglia.Network.from_file(path)
    assert info.value.source == str(path)
    assert str(info.value).startswith(f"{path}: invalid model: line 7: populations[0].size")


def test_missing_file_is_an_oserror(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(AstrogliaIOError) as info:
        astroglia.Network.from_file(path)
    e = info.value
    assert isinstance(e, OSError) and isinstance(e, AstrogliaError)
    assert e.errno == errno.ENOENT
    assert e.filename == str(path)
    assert str(path) in str(e)


def test_dict_errors_name_the_field_without_lines():
    d = {"dt_ms": 0.1, "populations": [{"name": "n", "size": 10, "lif": {"tau_m_ms": -5.0}}]}
    with pytest.raises(ModelError) as info:
        astroglia.Network.from_dict(d)
    (issue,) = info.value.issues
    assert issue["line"] is None and issue["column"] is None
    assert issue["field"].startswith("populations[0].lif")
    assert str(info.value).startswith("<dict>: invalid model: populations[0]")


def test_dict_of_wrong_type():
    with pytest.raises(ArgumentError):
        astroglia.Network.from_dict([1, 2, 3])


def test_builder_error_names_field():
    b = astroglia.NetworkBuilder(dt_ms=0.1).population("n", 10, lif={}).projection(
        "n", "m", connect={"all_to_all": {}}
    )
    with pytest.raises(ModelError) as info:
        b.build()
    assert info.value.issues[0]["field"] == "projections[0].to"
    assert info.value.source == "<builder>"


def test_unknown_population_in_set_rates():
    s = sim()
    with pytest.raises(UnknownNameError) as info:
        s.set_rates("inputs", 10.0)
    e = info.value
    assert isinstance(e, KeyError)
    assert e.kind == "population" and e.name == "inputs"
    assert e.known == ["input", "cells"]
    assert str(e) == "no population named 'inputs' (known: input, cells)"


def test_wrong_rate_vector_length():
    with pytest.raises(ArgumentError) as info:
        sim().set_rates("input", np.ones(3))
    assert isinstance(info.value, ValueError)
    assert "Poisson rates of 'input': 3 values, expected 1, or 20" in str(info.value)
    assert info.value.what == "Poisson rates of 'input'"


def test_negative_rate():
    with pytest.raises(ArgumentError, match=r"Poisson rates of 'input': -5 is out of range"):
        sim().set_rates("input", -5.0)


def test_rates_of_a_neuron_population():
    with pytest.raises(ArgumentError, match="not a `poisson` source"):
        sim().set_rates("cells", 5.0)


def test_unknown_state_variable():
    with pytest.raises(UnknownNameError, match="no state variable named 'w'") as info:
        sim().state("cells", "w")
    assert info.value.kind == "state variable"
    assert "v" in info.value.known


def test_unknown_population_in_state():
    with pytest.raises(UnknownNameError):
        sim().state("cell", "v")


def test_bad_backend_name():
    net = astroglia.Network.from_toml(GOOD)
    with pytest.raises(ArgumentError, match=r"backend: 'cuda' is not a backend"):
        astroglia.Simulator(net, backend="cuda")


def test_unknown_projection():
    with pytest.raises(UnknownNameError, match="no projection named 'x'"):
        sim().weights("x")


def test_unknown_snapshot():
    with pytest.raises(UnknownNameError) as info:
        sim().restore("never stored")
    assert info.value.kind == "snapshot"


def test_instance_out_of_range():
    with pytest.raises(ArgumentError, match=r"no instance with index 3 \(1 in all\)") as info:
        sim().state("cells", "v", instance=3)
    assert info.value.what == "instance"


def test_spike_source_ids_out_of_range():
    text = GOOD.replace("poisson = { rate_hz = 50.0 }", "spike_source = {}")
    s = astroglia.Simulator(astroglia.Network.from_toml(text))
    with pytest.raises(ArgumentError, match="spike source 'input'"):
        s.set_spike_source("input", [1.0, 2.0], [0, 25])
    with pytest.raises(ArgumentError, match="ids: -1"):
        s.set_spike_source("input", [1.0], [-1])
    with pytest.raises(ArgumentError, match="spike source 'input'"):
        s.set_spike_source("input", [1.0, 2.0], [0])


def test_setter_without_its_input():
    with pytest.raises(ArgumentError, match="current input of 'cells'"):
        sim().set_current("cells", 100.0)


def test_bad_reset_mode():
    with pytest.raises(ArgumentError):
        sim().reset("forget")


@pytest.mark.parametrize("ms", [-1.0, float("nan"), float("inf")])
def test_bad_run_time(ms):
    with pytest.raises(ArgumentError, match="run: .* ms is out of range"):
        sim().run(ms)


def test_wrong_python_type_is_a_type_error():
    with pytest.raises(TypeError):
        sim().run("long")


def test_unrecorded_population():
    s = sim()
    s.run(5.0)
    with pytest.raises(ArgumentError, match="not recorded"):
        s.spikes("input")
