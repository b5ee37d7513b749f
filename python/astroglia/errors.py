"""The exceptions astroglia raises.

Every error of the simulator is an :class:`AstrogliaError`; the subclass says
what kind of error it is, and several also derive from the built-in exception a
Python program would expect (``KeyError`` for an unknown name, ``ValueError``
for a bad argument, ``OSError`` for a file that cannot be read,
``ArithmeticError`` for a numerical blow-up). The message is the one the
``astroglia`` command line prints: it names the file, line and field of a
model-file problem, the argument and the expected range of a bad argument.
"""

from __future__ import annotations

__all__ = [
    "AstrogliaError",
    "ModelError",
    "UnknownNameError",
    "ArgumentError",
    "DataError",
    "AstrogliaIOError",
    "GpuError",
    "MissingFeatureError",
    "NonFiniteError",
    "ResourceError",
    "NirError",
    "ReadoutError",
    "RecordingFullError",
    "BusyError",
]


class AstrogliaError(Exception):
    """Base class of every astroglia error."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelError(AstrogliaError):
    """A model (or rules, or experiment) description is invalid.

    Attributes:
        kind: ``"model"``, ``"rules"`` or ``"experiment"``.
        source: the file name (``"<string>"``, ``"<dict>"`` or the name given
            for descriptions not read from a file).
        issues: every problem found, in file order: dicts with ``line`` and
            ``column`` (1-based, ``None`` where unknown, always ``None`` for a
            dict), ``field`` (dotted path, e.g. ``populations[1].size``) and
            ``message``.
    """

    kind: str = "model"
    source: str = ""
    issues: list = []


class UnknownNameError(AstrogliaError, KeyError):
    """A name the network does not have (population, projection, astrocyte,
    snapshot). Attributes: ``kind``, ``name`` and ``known`` (the names there are).
    """

    kind: str = ""
    name: str = ""
    known: list = []


class ArgumentError(AstrogliaError, ValueError):
    """An argument is out of range, of the wrong length, or does not fit the
    model (a rate vector of the wrong length, a negative rate, an instance past
    the batch, a population of the wrong kind, a snapshot of another network,
    a bad backend name). Attribute ``what`` names the argument."""

    what: str = ""


class DataError(AstrogliaError):
    """A data file (dataset, recording) is missing, unreadable or malformed.
    Attributes ``path`` and ``offset`` (the byte where the problem is, or
    None where it is not known)."""

    path: str = ""
    offset = None


class AstrogliaIOError(AstrogliaError, OSError):
    """Reading or writing a file failed. ``filename`` is the file, ``errno`` the
    operating system's error number where there was one."""


class GpuError(AstrogliaError):
    """The GPU backend failed: no adapter, a device limit, a validation error."""


class MissingFeatureError(AstrogliaError):
    """The extension was built without a cargo feature the call needs.
    Attribute ``feature``."""

    feature: str = ""


class NonFiniteError(AstrogliaError, ArithmeticError):
    """A state variable became NaN or infinite. Attributes ``population``,
    ``var`` and ``step``."""


class ResourceError(AstrogliaError):
    """The input asks for more than this machine can give (memory, above all)."""


class NirError(AstrogliaError):
    """A NIR graph cannot be imported, or a model cannot be exported to NIR."""


class ReadoutError(AstrogliaError):
    """A readout got inconsistent data or settings."""


class RecordingFullError(AstrogliaError):
    """A run recorded more spikes than the simulator's bound; drain the spikes
    (``Simulator.drain_spikes``) between runs or record fewer neurons."""


class BusyError(AstrogliaError, RuntimeError):
    """The simulator is in use by another thread (``run`` releases the GIL).
    Use one simulator per thread."""
