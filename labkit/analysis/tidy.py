"""Sessions -> one tidy pandas table: one row per session x trial x metric.

By default the metrics come from the results the session stores (the newest protocol or
re-analysis results group); with ``params`` every trial is analysed again from the stored
data with per-test parameter overrides. A re-analysis never touches the stored results:
it is returned, and with ``write=True`` also stored as a new results group with its own
provenance (``analysis``, ``analysis-2``, ...).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labkit.errors import ConfigError, SessionError
from labkit.trials.formats import metric_unit

__all__ = ["COLUMNS", "METHOD", "analyze", "metric_unit", "session_metrics", "stored_result_name"]

#: provenance method of re-analysis results groups
METHOD = "labkit.analysis.analyze"
_ANALYSIS_METHODS = ("labkit.protocol.runner", METHOD)
_IDENTITY = ("trial", "test", "label", "side", "attempt", "valid", "reason", "valid_from_file")
#: columns of the tidy table, in order
COLUMNS = ("path", "session_id", "athlete", "date", "protocol", "result", "test", "label", "side",
           "trial", "attempt", "metric", "value", "unit", "valid", "valid_analysis", "reason",
           "method", "params", "labkit_version")

def stored_result_name(session: Any) -> str | None:
    """The newest results group holding per-trial metrics (protocol run or re-analysis)."""
    for name in reversed(session.results):
        res = session.result(name)
        if res.provenance.get("method") in _ANALYSIS_METHODS and "trials" in res.tables:
            return name
    return None


def _force_units(table: pd.DataFrame) -> list[str]:
    """Per trial, the unit of its signal: the catalogue's, else the stored ``unit`` column."""
    from labkit.trials.catalogue import CATALOGUE

    stored = table["unit"] if "unit" in table.columns else pd.Series("", index=table.index)
    out = []
    for test, unit in zip(table["test"], stored, strict=True):
        e = CATALOGUE.get(str(test))
        out.append(e.unit if e is not None else unit if isinstance(unit, str) and unit else "N")
    return out


def _applies(tests: pd.Series, metrics: pd.Series) -> np.ndarray:
    """Which (test, metric) rows are metrics of their test (the catalogue's ``metrics``)."""
    from labkit.trials.catalogue import CATALOGUE

    cache: dict[tuple[str, str], bool] = {}
    keep = np.empty(len(tests), dtype=bool)
    for i, key in enumerate(zip(tests.astype(str), metrics, strict=True)):
        if key not in cache:
            e = CATALOGUE.get(key[0])
            cache[key] = e is None or e.reports(key[1])  # an unknown test keeps everything
        keep[i] = cache[key]
    return keep


def _sides(table: pd.DataFrame, trial_sides: Mapping[int, str] | None) -> pd.Series:
    """The ``side`` column: the side of sided tests, the direction of directional ones.

    Results stored before the direction went into their ``side`` column get it from the
    session's trials table, which always held it.
    """
    from labkit.trials.catalogue import CATALOGUE

    side = table["side"].fillna("").astype(str) if "side" in table.columns else \
        pd.Series("", index=table.index)
    if trial_sides:
        for i, (test, trial) in enumerate(zip(table["test"], table["trial"], strict=True)):
            e = CATALOGUE.get(str(test))
            if e is not None and e.directional and not side.iloc[i]:
                side.iloc[i] = trial_sides.get(int(trial), "")
    return side


def _tidy(table: pd.DataFrame, analyses: Mapping[str, Any], meta: dict[str, Any],
          trial_sides: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Melt a per-trial table into tidy rows, each trial with the metrics of its test."""
    if table is None or len(table) == 0:
        return pd.DataFrame(columns=list(COLUMNS))
    metrics = [c for c in table.columns if c not in _IDENTITY and not c.endswith("_index")
               and table[c].dtype.kind in "fiu"]
    ident = table.reindex(columns=list(_IDENTITY)).copy()
    ident["side"] = _sides(table, trial_sides)
    ident["valid_analysis"] = ident.pop("valid_from_file")
    force_unit = _force_units(table)
    long = []
    for m in metrics:
        part = ident.copy()
        part["metric"] = m
        part["value"] = table[m].astype(np.float64).to_numpy()
        part["unit"] = [metric_unit(m, fu) for fu in force_unit]
        part["_order"] = np.arange(len(table)) * len(metrics) + len(long)
        long.append(part)
    out = pd.concat(long, ignore_index=True).sort_values("_order", kind="stable")
    out = out[_applies(out["test"], out["metric"])]
    out = out.drop(columns="_order").reset_index(drop=True)
    prov = {str(k): _provenance(v) for k, v in (analyses or {}).items()}
    none = ("", "{}", "", "{}")
    is_emg = out["metric"].str.startswith(("emg_onset_", "emd_")).to_numpy()
    cols = [prov.get(str(lab), none) for lab in out["label"]]
    out["method"] = [c[2] if e else c[0] for c, e in zip(cols, is_emg, strict=True)]
    out["params"] = [c[3] if e else c[1] for c, e in zip(cols, is_emg, strict=True)]
    for key, value in meta.items():
        out[key] = value
    out["trial"] = out["trial"].astype(np.int64)
    out["attempt"] = out["attempt"].astype(np.int64)
    out["valid"] = out["valid"].astype(bool)
    out["valid_analysis"] = out["valid_analysis"].astype(bool)
    for col in ("side", "reason", "label", "test"):
        out[col] = out[col].fillna("").astype(str)
    return out[list(COLUMNS)]


def _trial_sides(session: Any) -> dict[int, str]:
    """Trial id -> the ``side`` column of the session's trials table."""
    trials = session.trials
    if len(trials) == 0 or "side" not in trials.columns:
        return {}
    return {int(i): str(v or "") for i, v in zip(trials["id"], trials["side"], strict=True)}


# values that describe the data rather than the method (per-channel thresholds, baselines)
_DERIVED = frozenset({"baseline_used_s", "method_info", "offset_threshold", "threshold",
                      "labkit_version", "function"})


def _provenance(entry: Any) -> tuple[str, str, str, str]:
    """(force method, force params JSON, EMG method, EMG params JSON) of one test's analysis."""
    from labkit.session.format import to_json

    if not isinstance(entry, Mapping):
        return "", "{}", "", "{}"
    method = str(entry.get("method", ""))
    if method and "." not in method:
        method = f"labkit.signal.force.{method}"
    force_params = {k: v for k, v in entry.items() if k not in ("emg", "method", "labkit_version")}
    emg = entry.get("emg") or {}
    emg_method, emg_params = "", {}
    for group, p in sorted(emg.items()) if isinstance(emg, Mapping) else []:
        if isinstance(p, Mapping):
            emg_method = str(p.get("function", "labkit.signal.emg.detect_onsets"))
            emg_params[group] = {k: v for k, v in p.items() if k not in _DERIVED}
    return method, to_json(force_params), emg_method, to_json(emg_params)


def _meta(session: Any, result: str, version: str) -> dict[str, Any]:
    info = session.info
    return {"path": str(session.path), "session_id": str(info.get("session_id", "")),
            "athlete": str(info.get("subject", "")), "date": str(info.get("created_utc", ""))[:10],
            "protocol": str(info.get("protocol", "")), "result": result, "labkit_version": version}


def reanalyse(session: Any, params: Mapping[str, Any] | None = None, *, write: bool = False
              ) -> tuple[dict[str, pd.DataFrame], dict[str, Any], str]:
    """Analyse every trial of a session again from its stored data.

    Parameters
    ----------
    session : labkit.Session
    params : mapping, optional
        Per-test overrides, ``{test: {parameter: value}}`` (see
        :func:`labkit.trials.replay.apply_overrides`).
    write : bool
        Store the result as a new results group (never overwriting one).

    Returns
    -------
    tables : dict of str to DataFrame
        As the runner's ``protocol`` results group: ``trials``, ``aggregates`` (when any),
        ``strides`` (when the session has run trials).
    provenance : dict
        ``method``, ``params``, ``inputs`` as stored (or as would be stored).
    name : str
        The results group written, or ``""``.
    """
    from labkit._version import __version__
    from labkit.trials.analyse import STREAMS, analyse_session_trials, result_tables
    from labkit.trials.replay import apply_overrides, session_trials

    st = session_trials(session)
    records = apply_overrides(st.records, params)
    if not records:
        raise SessionError(f"{session.path}: no finished trials to analyse (trials table: "
                           f"{len(session.trials)} rows); record a protocol with `labkit run`")
    table, aggregates, analyses, details = analyse_session_trials(session, records, st.body_weight_n,
                                                                  st.tare_n)
    tables = result_tables(table, aggregates, details)
    based_on = stored_result_name(session)
    prov = {"method": METHOD,
            "params": {"protocol": st.protocol_name, "body_weight_n": st.body_weight_n,
                       "tare_n": st.tare_n, "analyses": analyses, "overrides": dict(params or {}),
                       "based_on": based_on or ""},
            "inputs": {"streams": [s for s in STREAMS if s in session.streams],
                       "trials": [int(r.trial_id) for r in records],
                       "windows": "trial start..end, session clock (synchronised times)"},
            "labkit_version": __version__}
    name = ""
    if write:
        from labkit.session.results import write_result

        name = write_result(session.path, "analysis", method=METHOD, params=prov["params"],
                            inputs=prov["inputs"], tables=tables)
    return tables, prov, name


def session_metrics(source: Any, params: Mapping[str, Any] | None = None, *, write: bool = False,
                    result: str | None = None) -> pd.DataFrame:
    """Tidy metrics of one session (see :func:`analyze`).

    Parameters
    ----------
    source : str, Path or labkit.Session
    params : mapping, optional
        Per-test analysis parameter overrides; when given, the trials are analysed again.
    write : bool
        Analyse again and store the result as a new results group.
    result : str, optional
        Read this results group instead of the newest one.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`.
    """
    from labkit.session.reader import Session, open_session

    if isinstance(source, Session):
        if write:
            raise ConfigError(f"{source.path}: write=True needs the file path, not an open Session "
                              "(the file must be opened for writing); pass the path")
        return _session_metrics(source, params, write=False, result=result)
    if not write:
        with open_session(source) as s:
            return _session_metrics(s, params, write=False, result=result)
    with open_session(source) as s:  # analyse, then close: writing needs the file to itself
        tables, prov, _ = reanalyse(s, params, write=False)
        meta = _meta(s, "", prov["labkit_version"])
    from labkit.session.results import write_result

    meta["result"] = write_result(source, "analysis", method=METHOD, params=prov["params"],
                                  inputs=prov["inputs"], tables=tables)
    return _tidy(tables["trials"], prov["params"]["analyses"], meta)


def _session_metrics(s: Any, params: Mapping[str, Any] | None, *, write: bool,
                     result: str | None) -> pd.DataFrame:
    if params is None:
        name = result or stored_result_name(s)
        if result is not None and result not in s.results:
            raise SessionError(f"{s.path}: no result {result!r}; the session has {s.results}")
        if name is not None:
            res = s.result(name)
            return _tidy(res.tables["trials"], res.provenance.get("params", {}).get("analyses", {}),
                         _meta(s, name, str(res.provenance.get("labkit_version", ""))), _trial_sides(s))
    tables, prov, name = reanalyse(s, params or None, write=False)
    return _tidy(tables["trials"], prov["params"]["analyses"], _meta(s, name, prov["labkit_version"]),
                 _trial_sides(s))


def _as_list(paths_or_sessions: Any) -> list[Any]:
    if isinstance(paths_or_sessions, str | os.PathLike):
        return [paths_or_sessions]
    from labkit.session.reader import Session

    if isinstance(paths_or_sessions, Session):
        return [paths_or_sessions]
    if isinstance(paths_or_sessions, Iterable):
        return list(paths_or_sessions)
    raise ConfigError("analyze takes session paths or Session objects, got "
                      f"{type(paths_or_sessions).__name__}")


def analyze(paths_or_sessions: Any, params: Mapping[str, Any] | str | os.PathLike | None = None, *,
            write: bool = False, result: str | None = None) -> pd.DataFrame:
    """Metrics of sessions as one tidy table: one row per session x trial x metric.

    Parameters
    ----------
    paths_or_sessions : path, Session, or iterable of them
        Session files (``.h5``) or open sessions.
    params : mapping or path, optional
        Per-test analysis parameter overrides, ``{test: {parameter: value}}``, e.g.
        ``{"imtp": {"onset_k": 3.0, "validation": {"max_pretension_n": 150}}}``, or a YAML/JSON
        file holding that mapping. When given, every trial is analysed again from the stored
        data; when omitted, the stored results are read (sessions without any are analysed
        with their stored protocol's parameters).
    write : bool
        Store each re-analysis as a new results group (``analysis``, ``analysis-2``, ...)
        with its provenance. Stored results are never overwritten. Needs paths.
    result : str, optional
        Read this results group (e.g. ``"protocol"``) instead of the newest one.

    Returns
    -------
    pandas.DataFrame
        Columns ``path, session_id, athlete, date, protocol, result, test, label, side, trial,
        attempt, metric, value, unit, valid, valid_analysis, reason, method, params,
        labkit_version``. ``valid`` is the trial's verdict as recorded, ``valid_analysis``
        the verdict of this analysis; ``method`` and ``params`` (JSON) are the provenance of
        each value; ``result`` names the results group it came from ("" when computed and
        not stored).

    Raises
    ------
    labkit.errors.LabkitError
        A file cannot be read or analysed (the batch CLI reports it and goes on).

    Examples
    --------
    >>> import labkit  # doctest: +SKIP
    >>> df = labkit.analyze(["a.h5", "b.h5"], {"imtp": {"onset_k": 3.0}})  # doctest: +SKIP
    >>> df.pivot_table(index="athlete", columns="metric", values="value")  # doctest: +SKIP
    """
    params = load_params(params) if isinstance(params, str | os.PathLike) else params
    frames = [session_metrics(src, params, write=write, result=result) for src in _as_list(paths_or_sessions)]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(frames, ignore_index=True)


def load_params(path: str | os.PathLike) -> dict[str, Any]:
    """Read per-test analysis overrides from a YAML or JSON file."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read analysis parameters ({exc.strerror}); check the path") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML/JSON ({str(exc).splitlines()[0]}); fix the file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: analysis parameters must be a mapping of test to parameters, "
                          f"e.g. 'imtp: {{onset_k: 3.0}}'")
    return data
