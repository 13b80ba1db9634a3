"""labkit._json: one rule for making values JSON-able, and the two NaN conventions where they
end up (strict ``null`` for the CLI and CSV export, ``NaN`` kept in the session file)."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit._json import dumps, to_jsonable


def _strict_loads(text: str):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


class Colour(enum.IntEnum):
    RED = 1


def test_numpy_scalars_and_arrays_become_plain_python():
    out = to_jsonable({"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "s": np.str_("x"),
                       "a": np.arange(4).reshape(2, 2), "o": np.array(["a", "b"])})
    assert out == {"i": 3, "f": 0.5, "b": True, "s": "x", "a": [[0, 1], [2, 3]], "o": ["a", "b"]}
    assert type(out["i"]) is int and type(out["f"]) is float and type(out["b"]) is bool
    assert type(out["s"]) is str
    assert type(to_jsonable(np.float64(2.5))) is float and to_jsonable(Colour.RED) == 1


def test_nan_and_inf_are_null_by_default_and_kept_on_request():
    value = [float("nan"), np.float64("inf"), -math.inf, np.array([1.0, np.nan]), 2.0]
    assert to_jsonable(value) == [None, None, None, [1.0, None], 2.0]
    assert _strict_loads(dumps(value)) == [None, None, None, [1.0, None], 2.0]
    kept = to_jsonable(value, nan="keep")
    assert math.isnan(kept[0]) and kept[1] == math.inf and kept[2] == -math.inf
    assert math.isnan(kept[3][1])
    assert dumps(value, nan="keep") == "[NaN, Infinity, -Infinity, [1.0, NaN], 2.0]"
    with pytest.raises(ValueError, match="nan='zero'"):
        to_jsonable(1.0, nan="zero")


def test_paths_bytes_times_sets_and_keys():
    out = to_jsonable({"p": Path("/data/s.h5"), "b": b"Fz \xc3\xbc", "bad": b"\xff",
                       "t": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC), "d": dt.date(2024, 5, 1),
                       "dt": dt.timedelta(milliseconds=1500), "set": {3}, "tuple": (1, (2,)),
                       1: "int key", None: "none key", np.int64(7): "numpy key", 2.5: "float key"})
    assert out["p"] == "/data/s.h5" and out["b"] == "Fz ü" and out["bad"] == "\ufffd"
    assert out["t"] == "2024-05-01T12:00:00+00:00" and out["d"] == "2024-05-01" and out["dt"] == 1.5
    assert out["set"] == [3] and out["tuple"] == [1, [2]]
    # keys are text as json.dumps would write them, so sort_keys never meets mixed types
    assert {"1", "null", "7", "2.5"} <= set(out)
    assert json.loads(dumps({True: 1, "a": 2}, sort_keys=True)) == {"a": 2, "true": 1}


def test_pandas_objects():
    frame = pd.DataFrame({"trial": [1, 2], "peak": [2345.5, np.nan], "when": pd.to_datetime(
        ["2024-05-01 12:00", None])})
    assert to_jsonable(frame) == [{"trial": 1, "peak": 2345.5, "when": "2024-05-01T12:00:00"},
                                  {"trial": 2, "peak": None, "when": None}]
    assert to_jsonable(pd.Series([1.5, np.nan])) == [1.5, None]
    assert to_jsonable(pd.Index(["a", "b"])) == ["a", "b"]
    assert to_jsonable([pd.NA, pd.NaT, pd.Timedelta(seconds=2)]) == [None, None, 2.0]
    assert _strict_loads(dumps({"t": frame}))["t"][1]["peak"] is None


def test_unknown_values_raise_unless_a_fallback_is_given():
    with pytest.raises(TypeError, match="cannot store complex value"):
        to_jsonable({"z": 1j})
    assert to_jsonable({"z": 1j}, fallback=str) == {"z": "1j"}


def test_importing_labkit_json_imports_neither_numpy_nor_pandas():
    code = "import sys, labkit._json; print('numpy' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.fixture()
def session_with_nan(tmp_path):
    from labkit.session.results import write_result
    from labkit.session.writer import SessionWriter
    from labkit.spec import ChannelSpec, StreamSpec

    path = tmp_path / "nan.h5"
    spec = StreamSpec("force", "force", [ChannelSpec("fz", "N", "force")], 100.0,
                      device={"gain": np.float64("nan"), "serial": np.int64(12)})
    with SessionWriter(path, [spec], subject="A01", fsync=False) as w:
        w.append("force", np.zeros((10, 1)), 10.0 + np.arange(10) / 100.0)
    write_result(path, "analysis", method="labkit.test",
                 params={"threshold": float("nan"), "k": np.float32(3.0), "where": Path("x/y")},
                 inputs={"streams": ("force",)})
    return path


def test_the_session_file_keeps_nan_in_provenance_and_device(session_with_nan):
    with labkit.open_session(session_with_nan) as s:
        params = s.result("analysis").provenance["params"]
        device = s.stream("force").device
    assert math.isnan(params["threshold"]) and params["k"] == 3.0 and params["where"] == "x/y"
    assert math.isnan(device["gain"]) and device["serial"] == 12


def test_csv_export_writes_strict_json(session_with_nan, tmp_path):
    from labkit.analysis.export_csv import export_csv

    export_csv(session_with_nan, tmp_path / "csv")
    prov = _strict_loads((tmp_path / "csv" / "results" / "analysis" / "provenance.json").read_text())
    assert prov["params"] == {"threshold": None, "k": 3.0, "where": "x/y"}
    meta = _strict_loads((tmp_path / "csv" / "session.json").read_text())
    assert meta["streams"]["force"]["device"] == {"gain": None, "serial": 12}


def test_inspect_json_is_strict_json(session_with_nan):
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "inspect", "--json", str(session_with_nan)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    report = _strict_loads(run.stdout)
    assert report["streams"][0]["name"] == "force"
