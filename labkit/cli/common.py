"""What the command modules share besides printing: exit codes, JSON values, warnings as lines."""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Any

import typer

EXIT_ERROR = 2
EXIT_UNEXPECTED = 1


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return jsonable(value.item())
    return value


@contextlib.contextmanager
def warnings_as_lines():
    """Print each labkit warning as one ``labkit: warning: ...`` line (no source excerpt)."""
    from labkit.errors import LabkitWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabkitWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, LabkitWarning):
                    typer.echo(f"labkit: warning: {w.message}", err=True)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
