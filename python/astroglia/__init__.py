"""astroglia: a spiking neural network simulator (Python bindings).

>>> import astroglia
>>> net = astroglia.Network.from_file("models/coba.toml")
>>> sim = astroglia.Simulator(net, seed=1)
>>> sim.run(100.0)
>>> times_ms, ids = sim.spikes("exc")

See docs/guide/python.md for the whole API, the exceptions and the array types.
"""

from __future__ import annotations

from . import errors
from ._astroglia import (
    Network,
    Simulator,
    __version__,
    compare,
    continual,
    digits,
    experiment,
    gpu_adapters,
    gpu_available,
    nir_export,
    nir_import,
    read_idx,
    read_nmnist,
    read_shd,
)
from .builder import NetworkBuilder
from .errors import (
    ArgumentError,
    AstrogliaError,
    AstrogliaIOError,
    BusyError,
    DataError,
    GpuError,
    MissingFeatureError,
    ModelError,
    NirError,
    NonFiniteError,
    ReadoutError,
    RecordingFullError,
    ResourceError,
    UnknownNameError,
)

__all__ = [
    "Network",
    "NetworkBuilder",
    "Simulator",
    "compare",
    "continual",
    "digits",
    "experiment",
    "gpu_adapters",
    "gpu_available",
    "nir_export",
    "nir_import",
    "read_idx",
    "read_nmnist",
    "read_shd",
    "errors",
    "__version__",
    *errors.__all__,
]
