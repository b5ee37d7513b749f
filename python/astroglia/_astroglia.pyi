"""Type stubs of the Rust extension astroglia._astroglia."""

from __future__ import annotations

import os
from typing import Any, Literal, Mapping, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

_Floats = Union[float, Sequence[float], npt.NDArray[np.floating[Any]]]
_Ids = Union[Sequence[int], npt.NDArray[np.integer[Any]]]
_Spikes = tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]

class Network:
    """A validated network description (a model file's content)."""

    @staticmethod
    def from_file(path: str | os.PathLike[str]) -> Network:
        """Reads and validates a model file (TOML). Raises ModelError (with file,
        line and field of every issue) or AstrogliaIOError."""
    @staticmethod
    def from_toml(text: str, name: str = "<string>") -> Network:
        """Parses and validates TOML text; `name` prefixes every error."""
    @staticmethod
    def from_dict(description: Mapping[str, Any], name: str = "<dict>") -> Network:
        """Builds and validates a model from a dict of the model file's tables
        (None values are left out). Errors name the field, not a line."""
    def to_dict(self) -> dict[str, Any]:
        """The description as a dict of the model file's tables."""
    def to_toml(self) -> str:
        """The description as model-file text."""
    def with_duration(self, duration_ms: float) -> Network:
        """A copy with another default duration."""
    @property
    def name(self) -> str | None: ...
    @property
    def dt_ms(self) -> float: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def populations(self) -> list[str]:
        """Population names in global-id order."""
    @property
    def projections(self) -> list[str]:
        """Projection names (`name`, or `from->to`) in model order."""

class Simulator:
    """Runs a network. Arrays returned are handed over from Rust without a copy."""

    def __init__(
        self,
        net: Network,
        *,
        seed: int | None = None,
        backend: Literal["cpu", "gpu"] = "cpu",
        batch: int = 0,
        threads: int = 0,
        adapter: str | None = None,
        instance_seeds: Sequence[int] | None = None,
    ) -> None:
        """Builds the network (seed: default the model's) on a backend; `batch`
        independent instances (seeds seed, seed+1, ...); `threads` CPU workers
        (0: chosen, 1: single-threaded; results do not depend on it)."""
    def run(self, ms: float) -> None:
        """Runs `ms` of simulated time (whole steps), with the GIL released."""
    def reset(self, weights: Literal["restore", "keep"] = "restore") -> None:
        """Back to the state after build (steps count from 0; the recording and
        summary start again). "keep" keeps plastic weights as learnt."""
    def store(self, name: str) -> None:
        """Keeps a snapshot of every instance under `name`."""
    def restore(self, name: str) -> None:
        """Comes back to the snapshot `store(name)` kept (UnknownNameError if none)."""
    def set_rates(self, population: str, rates_hz: _Floats, instance: int = 0) -> None:
        """Rates of a Poisson population, Hz: one for all sources, or one per source."""
    def set_current(self, population: str, amplitude: float, instance: int = 0) -> None:
        """Amplitude (pA) of the one `current` input onto `population`."""
    def set_noise(self, population: str, mean: float, std: float, instance: int = 0) -> None:
        """Mean and per-step std of the one `noise` input onto `population`."""
    def set_spike_source(
        self, population: str, times_ms: _Floats, ids: _Ids, instance: int = 0
    ) -> None:
        """Events of a spike-source population: source ids[k] fires at times_ms[k]."""
    def set_modulator(self, projection: str, m: float, instance: int = 0) -> None:
        """Modulator (reward) of a reward-modulated STDP projection."""
    def set_error(self, projection: str, error: _Floats, instance: int = 0) -> None:
        """Error of each postsynaptic neuron of a delta-rule projection."""
    def spikes(self, population: str, instance: int = 0) -> _Spikes:
        """(times_ms float64[n], ids uint32[n]) recorded so far (not drained), by
        time then id; ids are local to the population."""
    def drain_spikes(self, instance: int = 0) -> dict[str, _Spikes]:
        """Takes the spikes recorded since the last drain out of the recording."""
    def state(self, population: str, var: str, instance: int = 0) -> npt.NDArray[np.float32]:
        """Current values of a state variable: float32[population size]."""
    def weights(self, projection: str, instance: int = 0) -> npt.NDArray[np.float32]:
        """Current weights: float32[synapses] in CSR order (by presynaptic neuron),
        in the projection's weight unit."""
    def set_weights(self, projection: str, weights: _Floats, instance: int = 0) -> None:
        """Overwrites a plastic projection's weights (order and unit of `weights`)."""
    def weight_unit(self, projection: str) -> str:
        """`mV`, `pA` or `nS`."""
    def population_size(self, population: str) -> int: ...
    def summary(self) -> dict[str, Any]:
        """The run summary, as `astroglia run` writes summary.json."""
    @property
    def dt_ms(self) -> float: ...
    @property
    def steps_done(self) -> int: ...
    @property
    def time_ms(self) -> float: ...
    @property
    def batch(self) -> int: ...
    @property
    def warnings(self) -> list[str]: ...

def gpu_available() -> bool:
    """Whether the GPU backend finds an adapter."""

def gpu_adapters() -> list[str]:
    """The GPU adapters backend="gpu" can use, best first."""

def digits() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
    """The 1797 8x8 digits built in: (images float32[1797, 64] in [0, 1], labels uint8[1797])."""

def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[Any]:
    """An IDX file (``.gz`` inflated) as an array of its dims and element type
    (uint8, int8, int16, int32, float32 or float64), without a copy."""

def nir_import(
    path: str | os.PathLike[str], *, dt_ms: float = 1.0, duration_ms: float = 1000.0
) -> tuple[Network, dict[str, Any]]:
    """A NIR graph as a network, with {"inputs": [(population, shape)],
    "outputs": [(node, population)], "warnings": [...]}."""

def nir_export(net: Network, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Writes the network as a NIR graph; returns {"nodes", "edges", "version"}."""

def experiment(
    path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    backend: Literal["cpu", "gpu"] = "cpu",
    threads: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    adapter: str | None = None,
) -> dict[str, Any]:
    """Runs an LSM experiment file (`astroglia experiment`): results.json's
    content (comparison.json's for a file with [[variants]]), also written under
    `out` (default out/<name>; no plots). threads=0: every core."""

def continual(
    path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    backend: Literal["cpu", "gpu"] = "cpu",
    threads: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    adapter: str | None = None,
) -> dict[str, Any]:
    """Runs a continual-learning experiment file (`astroglia continual`):
    results.json's content, also written under `out` (default out/<name>)."""

def compare(
    model: str | os.PathLike[str],
    rules: str | os.PathLike[str],
    *,
    projections: Sequence[str] = ...,
    seed: int | None = None,
    duration_ms: float | None = None,
    bf_populations: Sequence[str] = ...,
    bf_sample_ms: float | None = None,
    threads: int = 0,
    out: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Runs a model under each rule of a rules file (`astroglia compare`):
    compare.json's content, written to out/compare.json when `out` is given."""

def read_nmnist(path: str | os.PathLike[str]) -> dict[str, Any]:
    """One N-MNIST recording: {"x", "y": uint16[n], "p": uint8[n], "t_us":
    uint64[n], "width", "height", "polarities"}."""

def read_shd(
    path: str | os.PathLike[str], layout: Literal["shd", "ssc"] = "shd"
) -> tuple[list[tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]], npt.NDArray[np.uint32]]:
    """A whole SHD/SSC file: ([(times_s, units) per sample], labels)."""
