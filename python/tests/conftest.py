"""Shared fixtures: the repository's models, the `astroglia` command line (for
the parity tests) and the GPU backend's availability."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

import astroglia

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


def _cli() -> pathlib.Path | None:
    """The `astroglia` binary: $ASTROGLIA_BIN (which must exist when set), else
    one built in the repository's target directories, else one on PATH."""
    env = os.environ.get("ASTROGLIA_BIN")
    if env:
        path = pathlib.Path(env)
        if not path.is_file():
            pytest.fail(f"ASTROGLIA_BIN={env} does not exist (build it: cargo build --profile ci)")
        return path
    targets = [pathlib.Path(os.environ["CARGO_TARGET_DIR"])] if "CARGO_TARGET_DIR" in os.environ else []
    targets.append(ROOT / "target")
    for t in targets:
        for profile in ("ci", "release", "debug"):
            p = t / profile / "astroglia"
            if p.is_file():
                return p
    found = shutil.which("astroglia")
    return pathlib.Path(found) if found else None


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    path = _cli()
    if path is None:
        pytest.skip("no astroglia binary (set ASTROGLIA_BIN or cargo build --profile ci)")
    return path


def backends() -> list:
    """CPU always; the GPU when an adapter exists or ASTROGLIA_REQUIRE_GPU is set
    (then a missing adapter fails the test instead of skipping it), as in the
    Rust test suite."""
    gpu = pytest.param(
        "gpu",
        marks=pytest.mark.skipif(
            not astroglia.gpu_available() and not os.environ.get("ASTROGLIA_REQUIRE_GPU"),
            reason="no GPU adapter",
        ),
    )
    return ["cpu", gpu]


@pytest.fixture(scope="session")
def models() -> pathlib.Path:
    return MODELS
