"""BIDS labels, entities and file names of one exported session.

Entity order and label rules are the BIDS schema's (``rules.entities``, ``formats.label``):
``sub``, ``ses``, ``task``, ``tracksys``, ``acq``, ``run``, ``recording``; a label holds
only letters, digits and ``+``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import ConfigError

_NOT_LABEL = re.compile(r"[^0-9A-Za-z+]")
_ORDER = ("sub", "ses", "task", "tracksys", "acq", "run", "recording")


def bids_label(text: str) -> str:
    """``text`` with every character a BIDS label may not hold removed (``hip_battery`` ->
    ``hipbattery``)."""
    return _NOT_LABEL.sub("", str(text))


def checked_label(value: str, option: str) -> str:
    """A label given by the user: refused (one line naming the option) unless it is one."""
    if not value or _NOT_LABEL.search(value):
        raise ConfigError(f"{option} {value!r} is not a BIDS label; use letters and digits only "
                          f"(e.g. {bids_label(value) or '01'!r})")
    return value


@dataclass(frozen=True)
class RunEntities:
    """The entities every file of one exported session shares.

    Attributes
    ----------
    sub, task : str
        Subject and task labels.
    ses : str or None
        Session label (no ``ses-`` folder or entity when None).
    run : int or None
        Run index (no ``run-`` entity when None).
    """

    sub: str
    task: str
    ses: str | None = None
    run: int | None = None

    def folder(self, root: Path, datatype: str) -> Path:
        """``ROOT/sub-<sub>[/ses-<ses>]/<datatype>``."""
        base = root / f"sub-{self.sub}"
        if self.ses:
            base = base / f"ses-{self.ses}"
        return base / datatype

    def name(self, suffix: str, extension: str, **extra: str | None) -> str:
        """File name with the entities in BIDS order, e.g. ``name("motion", ".tsv",
        tracksys="mocap")`` -> ``sub-01_task-imtp_tracksys-mocap_motion.tsv``."""
        values = {"sub": self.sub, "ses": self.ses, "task": self.task,
                  "run": None if self.run is None else str(self.run), **extra}
        unknown = set(values) - set(_ORDER)
        if unknown:  # a programming error, not user input
            raise ValueError(f"unknown BIDS entities {sorted(unknown)}")
        parts = [f"{k}-{values[k]}" for k in _ORDER if values.get(k)]
        return "_".join([*parts, suffix]) + extension
