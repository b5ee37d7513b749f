"""The experiment runners from Python: experiment, continual and compare
return their results as dicts and write what the command line writes (but the
plots) into `out`."""

from __future__ import annotations

import json

import pytest

import astroglia
from conftest import MODELS


def test_experiment(tmp_path):
    exp = tmp_path / "tiny.toml"
    exp.write_text(
        f'name = "tiny"\nmodel = "{MODELS / "digits_liquid.toml"}"\nseed = 1\n'
        "[data]\nsource = \"digits\"\nmax_train = 80\nmax_test = 40\n"
        '[input]\npopulation = "input"\n[features]\npopulations = ["exc", "inh"]\n'
    )
    r = astroglia.experiment(exp, out=tmp_path / "out")
    assert r["n_test"] == 40 and r["n_train"] + r["n_val"] == 80
    assert 0.3 < r["test_accuracy"] <= 1.0  # 40 test images, 64 to learn from
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    assert written["test_accuracy"] == r["test_accuracy"]


def test_continual(tmp_path):
    text = (MODELS / "continual_digits.toml").read_text()
    for old, new in [("count = 3", "count = 2"), ("epochs = 2", "epochs = 1"),
                     ("samples = 1000", "samples = 100"), ("epochs = 60", "epochs = 5")]:
        assert old in text
        text = text.replace(old, new, 1)
    exp = tmp_path / "tiny_continual.toml"
    exp.write_text(text)
    r = astroglia.continual(exp, out=tmp_path / "out")
    assert r["n_tasks"] == 2 and r["methods"]
    assert (tmp_path / "out" / "results.json").is_file()


def test_compare(tmp_path):
    r = astroglia.compare(
        MODELS / "stdp_song.toml", MODELS / "compare_song.toml", projections=["stdp"],
        duration_ms=500.0, out=tmp_path,
    )
    assert r["projections"] == ["stdp"] and len(r["variants"]) == 4
    assert json.loads((tmp_path / "compare.json").read_text()) == r


def test_bad_experiment_file(tmp_path):
    exp = tmp_path / "bad.toml"
    exp.write_text('model = "x.toml"\nseed = "one"\n')
    with pytest.raises(astroglia.ModelError) as info:
        astroglia.experiment(exp, out=tmp_path / "out")
    assert info.value.kind == "experiment"
    assert str(exp) in str(info.value) and info.value.issues[0]["line"] == 2


def test_bad_rules_file(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nname = 3\n")
    with pytest.raises(astroglia.ModelError) as info:
        astroglia.compare(MODELS / "stdp_song.toml", rules)
    assert info.value.kind == "rules" and str(rules) in str(info.value)


def test_missing_experiment_file(tmp_path):
    with pytest.raises(astroglia.AstrogliaIOError):
        astroglia.experiment(tmp_path / "none.toml", out=tmp_path)
