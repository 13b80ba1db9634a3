"""labkit: synchronised force-plate, EMG and motion-capture sessions for hip-focused labs.

The public API is small and explicit. Importing labkit is cheap: heavy modules (numba,
pylsl, nidaqmx, matplotlib) are imported only where they are used.

>>> import labkit
>>> labkit.__version__  # doctest: +SKIP
'0.1.0'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labkit._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from labkit.analysis.tidy import analyze
    from labkit.session.reader import Session, open_session
    from labkit.session.repair import repair_session
    from labkit.session.writer import SessionWriter
    from labkit.spec import ChannelSpec, StreamSpec

__all__ = [
    "ChannelSpec",
    "Session",
    "SessionWriter",
    "StreamSpec",
    "__version__",
    "analyze",
    "open_session",
    "repair_session",
]

_LAZY = {
    "analyze": "labkit.analysis.tidy",
    "open_session": "labkit.session.reader",
    "Session": "labkit.session.reader",
    "repair_session": "labkit.session.repair",
    "SessionWriter": "labkit.session.writer",
    "StreamSpec": "labkit.spec",
    "ChannelSpec": "labkit.spec",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


def __dir__() -> list[str]:
    return sorted(__all__)
