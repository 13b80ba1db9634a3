"""What the command modules share besides printing: exit codes and warnings as lines."""

from __future__ import annotations

import contextlib
import warnings

import typer

EXIT_ERROR = 2
EXIT_UNEXPECTED = 1


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
