"""Write results groups, with provenance, into a finished session."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from labkit._version import __version__
from labkit.errors import ConfigError, SessionError
from labkit.session import format as fmt
from labkit.session._h5 import attr_str, frame_to_table, open_h5

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def write_result(
    path: str | os.PathLike[str],
    name: str,
    *,
    method: str,
    params: Mapping[str, Any],
    inputs: Any,
    tables: Mapping[str, pd.DataFrame] | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
) -> str:
    """Store analysis results with their provenance in ``/results/<name>``.

    Existing results are never overwritten: when ``name`` is taken, ``name-2``,
    ``name-3``, ... is used. The name actually written is returned.

    Parameters
    ----------
    path : str or Path
        A finished (or repaired) session file.
    name : str
        Group name: letters, digits, ``_``, ``.``, ``-``.
    method : str
        Method that produced the results (e.g. ``"labkit.signal.force.isometric"``).
    params : mapping
        Every parameter used, JSON-serialisable.
    inputs : JSON-serialisable
        What was analysed: stream names, sample ranges, trial ids.
    tables : mapping of str to DataFrame, optional
        Stored as compound datasets (numbers, booleans, UTF-8 strings).
    arrays : mapping of str to ndarray, optional
        Stored as plain numeric datasets.

    Returns
    -------
    str
        The results group name.
    """
    if not _NAME.match(name or ""):
        raise ConfigError(
            f"result name {name!r} is invalid: use letters, digits, '_', '.' or '-'"
        )
    params_json = fmt.to_json(dict(params))
    inputs_json = fmt.to_json(inputs)
    with open_h5(path, "r+") as f:
        if attr_str(f.attrs.get("status", "")) == fmt.STATUS_RECORDING:
            raise SessionError(
                f"{path}: the session is still marked as recording; finish the recording "
                f"or run `labkit repair {path}` before writing results"
            )
        group = f.require_group(fmt.RESULTS_GROUP)
        final = name
        k = 2
        while final in group:
            final = f"{name}-{k}"
            k += 1
        g = group.create_group(final)
        g.attrs["method"] = method
        g.attrs["params"] = params_json
        g.attrs["inputs"] = inputs_json
        g.attrs["labkit_version"] = __version__
        g.attrs["created_utc"] = datetime.now(UTC).isoformat(timespec="microseconds")
        for key, frame in (tables or {}).items():
            g.create_dataset(key, data=frame_to_table(frame, f"{path}: result {final}/{key}"))
        for key, array in (arrays or {}).items():
            arr = np.asarray(array)
            if arr.dtype.kind not in "biuf":
                raise SessionError(
                    f"{path}: result {final}/{key} has dtype {arr.dtype}; store numeric arrays "
                    "or use a table"
                )
            g.create_dataset(key, data=arr)
    return final
