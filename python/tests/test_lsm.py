"""The digits LSM from Python (python/examples/lsm_digits.py): scikit-learn's
LogisticRegression on the liquid's spike counts reaches >= 90 % test accuracy."""

from __future__ import annotations

import importlib.util
import pathlib

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "lsm_digits.py"


def load_example():
    spec = importlib.util.spec_from_file_location("lsm_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_lsm_reaches_90_percent():
    r = load_example().run()
    print(f"\nLSM digits: {r}")
    assert r["images"] == 1797
    assert r["test_accuracy"] >= 0.90, r
