"""The examples run (without their plots: matplotlib is not a test requirement)."""

from __future__ import annotations

import pathlib
import runpy
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_ei_raster_builds_and_runs():
    ns = runpy.run_path(str(EXAMPLES / "ei_raster.py"), run_name="ei_raster")
    assert ns["summary"]["populations"]["exc"]["rate_hz"] > 1.0
    assert len(ns["t_exc"]) == ns["summary"]["populations"]["exc"]["spikes"]


def test_closed_loop_steers_the_rate():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "closed_loop.py"), "--ms", "600", "--target-hz", "8"],
        check=True, capture_output=True, text=True,
    ).stdout
    last = float(out.strip().splitlines()[-1].split(":")[1].split("Hz")[0])
    assert 4.0 < last < 12.0, out
