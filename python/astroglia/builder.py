"""A network built in code with keyword arguments that mirror the model file.

Each call adds one table of the model file (docs/guide/models.md) with the same
keys, so what a model file says can be written here line for line::

    net = (
        NetworkBuilder(name="ei", dt_ms=0.1, duration_ms=500.0, seed=1)
        .population("exc", 800, lif={}, init={"v": {"uniform": {"low": -70.0, "high": -50.0}}})
        .population("inh", 200, lif={})
        .projection("exc", "inh", connect={"fixed_probability": {"p": 0.1}}, weight=0.5)
        .input("noise", target="exc", mean=300.0, std=200.0)
        .monitor("spikes", population="exc")
        .build()
    )

``build()`` validates the whole description as a model file is validated and
raises :class:`astroglia.ModelError` naming the field (``populations[1].size``).
"""

from __future__ import annotations

import copy
from typing import Any

from ._astroglia import Network

_LIST_MONITORS = ("spikes", "state", "rate", "astrocytes", "weights")
_INPUTS = ("current", "noise", "poisson")


class NetworkBuilder:
    """Collects the tables of a model file; :meth:`build` validates them."""

    def __init__(self, name: str | None = None, **top: Any) -> None:
        """``name`` and the file's top-level keys (``dt_ms``, ``duration_ms``,
        ``seed``, ``constants``, ...)."""
        self._d: dict[str, Any] = {}
        if name is not None:
            self._d["name"] = name
        self._d.update(top)

    def population(self, name: str, size: int, **params: Any) -> "NetworkBuilder":
        """A ``[[populations]]`` entry: the neuron model as a key (``lif={}``,
        ``lif_cond={...}``, ``izhikevich={...}``, ``poisson={"rate_hz": 10.0}``,
        ``spike_source={...}``, ``model="user_model"``), ``init``, ``grid``, ..."""
        self._d.setdefault("populations", []).append({"name": name, "size": size, **params})
        return self

    def projection(self, from_: str, to: str, **params: Any) -> "NetworkBuilder":
        """A ``[[projections]]`` entry from ``from_`` to ``to``: ``connect``,
        ``weight``, ``delay_ms``, ``receptor``, ``plasticity``, ``name``, ..."""
        self._d.setdefault("projections", []).append({"from": from_, "to": to, **params})
        return self

    def input(self, kind: str, target: str, **params: Any) -> "NetworkBuilder":
        """An ``[[inputs]]`` entry: ``kind`` is ``"current"``, ``"noise"`` or
        ``"poisson"``, the rest its keys (``amplitude``, ``mean``, ``std``,
        ``n``, ``rate_hz``, ``weight``, ``ids``, ``start_ms``, ...)."""
        if kind not in _INPUTS:
            from .errors import ArgumentError

            raise ArgumentError(f"input kind: '{kind}', expected one of {', '.join(_INPUTS)}")
        self._d.setdefault("inputs", []).append({kind: {"target": target, **params}})
        return self

    def monitor(self, kind: str, **params: Any) -> "NetworkBuilder":
        """A ``[monitors]`` entry: ``kind`` is ``"spikes"``, ``"state"``,
        ``"rate"``, ``"astrocytes"``, ``"weights"`` (each a list: one entry per
        call) or ``"branching"`` (one table)."""
        monitors = self._d.setdefault("monitors", {})
        if kind == "branching":
            monitors["branching"] = params
        elif kind in _LIST_MONITORS:
            monitors.setdefault(kind, []).append(params)
        else:
            from .errors import ArgumentError

            raise ArgumentError(
                f"monitor kind: '{kind}', expected one of "
                f"{', '.join(_LIST_MONITORS + ('branching',))}"
            )
        return self

    def set(self, key: str, value: Any) -> "NetworkBuilder":
        """Any other top-level key or table (``grids``, ``astrocytes``,
        ``neuron_models``, ...)."""
        self._d[key] = value
        return self

    def to_dict(self) -> dict[str, Any]:
        """The description so far, as the dict :meth:`Network.from_dict` takes."""
        return copy.deepcopy(self._d)

    def build(self, source_name: str = "<builder>") -> Network:
        """Validates the description; errors are :class:`astroglia.ModelError`."""
        return Network.from_dict(self._d, source_name)
