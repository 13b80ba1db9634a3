"""What the command modules share besides printing: exit codes, warnings as lines, and the
output checks every writing command makes before it starts."""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import typer

from labkit.errors import ConfigError, LabkitWarning

EXIT_ERROR = 2
EXIT_UNEXPECTED = 1


@contextlib.contextmanager
def warnings_as_lines():
    """Print each labkit warning as one ``labkit: warning: ...`` line (no source excerpt),
    when it is issued (a low-disk warning must not wait for the end of a run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", LabkitWarning)
        show = warnings.showwarning

        def _line(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, LabkitWarning):
                typer.echo(f"labkit: warning: {message}", err=True)
            else:
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = _line
        yield


# -- outputs: checked before a command starts any work ---------------------------------------
def _folder_problem(folder: Path) -> str:
    """Why files cannot be created in ``folder`` ('' when they can)."""
    if not folder.exists():  # also when a parent is a file (ENOTDIR)
        up = folder
        while not up.exists() and up != up.parent:
            up = up.parent
        if up.exists() and not up.is_dir():
            return f"{up} is a file, not a folder; choose another path"
        return f"folder {folder} does not exist; create it or choose another path"
    if not folder.is_dir():
        return f"{folder} is a file, not a folder; choose another path"
    # os.access, not the mode bits: root may write a read-only folder, nobody a read-only mount
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable; choose another path or check its permissions"
    return ""


def check_output_file(path: Path, *, overwrite: bool | None, flag: str = "-o") -> None:
    """Refuse an output file the command could not write, or would replace without
    ``--overwrite``. ``overwrite=None`` leaves an existing file to the library, whose refusal
    already names the command's flags (``labkit run``: --resume it or --overwrite)."""
    where = f"{flag} {path}" if flag else str(path)
    problem = _folder_problem(path.parent)
    if not problem and path.is_dir():
        problem = "is a folder; give a file name"
    if not problem and overwrite is False and path.exists():
        problem = "file exists; pass --overwrite to replace it, or choose another path"
    if problem:
        raise ConfigError(f"{where}: {problem}")


def check_output_folder(path: Path, *, flag: str = "-o") -> None:
    """Refuse an output folder the command could not write into; a missing one is created
    by the command (one level: its parent must exist)."""
    where = f"{flag} {path}" if flag else str(path)
    if path.exists() and not path.is_dir():
        problem = "is a file, not a folder; give a folder"
    else:
        problem = _folder_problem(path if path.exists() else path.parent)
    if problem:
        raise ConfigError(f"{where}: {problem}")
