"""The session database on a real SQLite file and a real PostgreSQL server (each test runs on
both): ingest is idempotent and keeps result versions, history equals ``labkit.analyze``,
a corrupt file is one line, concurrent ingesters store every session once, SQL never
interprets values, and a password is never printed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd

import labkit
from labkit.cli import main
from labkit.db import connect

LABKIT = [sys.executable, "-m", "labkit.cli"]


def _same(db_table: pd.DataFrame, files_table: pd.DataFrame) -> None:
    keys = ["session_id", "result", "trial", "metric"]
    a = db_table.sort_values(keys).reset_index(drop=True)
    b = files_table.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True)


def test_add_is_idempotent_and_history_equals_analyze(db_url, few_sessions):
    db = connect(db_url, init=True)
    first = db.add(few_sessions, workers=2)
    assert sorted(first.added) == sorted(str(p) for p in few_sessions) and first.ok
    again = db.add(few_sessions, workers=1)
    assert again.added == [] and again.updated == [] and len(again.unchanged) == len(few_sessions)
    everyone = db.history()
    _same(everyone, labkit.analyze(few_sessions))
    mine = db.history("A1", test="imtp", metric="peak_force_n")
    files = labkit.analyze([p for k, p in enumerate(few_sessions) if k % 3 == 1])
    _same(mine, files[files["metric"] == "peak_force_n"])
    best = db.history("A1", metric="peak_force_n", best=True)
    assert len(best) == 2 and (best["n_valid"] == 3).all()
    # the known peak forces of the pulls (the measured peak adds the plate noise: a few N)
    np.testing.assert_allclose(best["value"], [2099.0, 2096.0], atol=15)  # the 3rd pulls: 2100 - k
    codes = db.athletes()
    assert codes["code"].tolist() == ["A0", "A1", "A2"] and codes["sessions"].tolist() == [2, 2, 2]


def test_a_reanalysis_adds_a_result_version_and_keeps_the_old(db_url, few_sessions, tmp_path):
    path = tmp_path / "s.h5"
    shutil.copy(few_sessions[0], path)
    db = connect(db_url, init=True)
    assert db.add([path]).added == [str(path)]
    before = db.history("A0")
    labkit.analyze(path, {"imtp": {"onset_k": 3.0}}, write=True)  # a new results group
    report = db.add([path])
    assert report.updated == [str(path)]
    now = db.history("A0")
    _same(now, labkit.analyze(path))  # the newest version, as labkit.analyze reads it
    assert set(now["result"]) == {"analysis"} and set(before["result"]) == {"protocol"}
    versions = db.history("A0", all_versions=True)
    assert set(versions["result"]) == {"protocol", "analysis"}
    _same(versions[versions["result"] == "protocol"], before)
    assert db.add([path]).unchanged == [str(path)]


def test_history_keeps_missing_values_and_any_metric_name_exactly(db_url, few_sessions):
    """A NaN value, a unit with a non-ASCII sign and a name holding the character PostgreSQL's
    packed read joins names with (it falls back to one row per metric) come back as stored."""
    from labkit.db.ingest import read_session_file, store_session

    payload = read_session_file(few_sessions[0])
    table = payload["results"][-1]["table"].copy()
    table.loc[0, "value"] = np.nan
    table.loc[1, "metric"] = "odd\x1fname"
    table.loc[2, "unit"] = "µV·s"
    payload["results"][-1]["table"] = table
    db = connect(db_url, init=True)
    assert store_session(db.engine, payload) == "added"
    history = db.history(payload["session"]["athlete"])
    _same(history, table)
    assert np.isnan(history["value"].iloc[0]) and history["metric"].iloc[1] == "odd\x1fname"
    _same(db.history(payload["session"]["athlete"], metric=["odd\x1fname"]), table.iloc[[1]])


def test_a_corrupt_file_is_one_line_and_the_rest_are_added(db_url, few_sessions, tmp_path, capsys):
    bad = tmp_path / "corrupt.h5"
    bad.write_bytes(few_sessions[0].read_bytes()[:40000])  # a truncated copy
    assert main(["db", "init", "--db", db_url]) == 0
    files = [str(few_sessions[1]), str(bad), str(few_sessions[2])]
    assert main(["db", "add", *files, "--db", db_url, "--workers", "2"]) == 1
    out = capsys.readouterr()
    lines = [ln for ln in out.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"labkit: failed: {bad}"), out.err
    assert "Traceback" not in out.err + out.out
    assert "3 files: 2 added" in out.out and "1 failed" in out.out
    assert connect(db_url).history()["path"].nunique() == 2


def test_sql_is_bound_parameters_hostile_codes_are_stored_verbatim(db_url, tmp_path, capsys):
    from labkit.analysis.synthetic import write_battery_session

    code = "x'); DROP TABLE sessions;--"
    path = write_battery_session(tmp_path / "evil.h5", seed=3, athlete=code)
    db = connect(db_url, init=True)
    assert db.add([path]).ok
    db.set_athlete(code, name="Robert'); DROP TABLE athletes;--", sport='"; DELETE FROM metrics; --',
                   groups=["g' OR '1'='1"])
    table = db.athletes()
    assert table["code"].tolist() == [code]
    assert table["name"].tolist() == ["Robert'); DROP TABLE athletes;--"]
    assert table["groups"].tolist() == ["g' OR '1'='1"]
    assert db.cohort(group="g' OR '1'='1") == [code] and db.cohort(group="x' OR '1'='1") == []
    assert len(db.history(code)) == len(labkit.analyze(path))  # sessions and metrics are intact
    assert main(["db", "history", code, "--db", db_url, "--json", "--metric", "peak_force_n"]) == 0
    assert '"athlete": "x\'); DROP TABLE sessions;--"' in capsys.readouterr().out


def test_two_processes_adding_overlapping_files_store_every_session_once(db_url, small_cohort):
    files = [str(f) for f in small_cohort.files[:24]]
    assert main(["db", "init", "--db", db_url]) == 0
    a, b = files[:16], files[8:]  # 8 files in both sets
    procs = [subprocess.Popen([*LABKIT, "db", "add", *part, "--db", db_url, "--workers", "1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for part in (a, b)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    history = connect(db_url).history()
    _same(history, labkit.analyze(files))
    sessions = history.groupby("path")["session_id"].nunique()
    assert len(sessions) == 24 and (sessions == 1).all()


def test_rebuild_from_the_files_gives_the_same_history_and_keeps_the_roster(db_url, few_sessions):
    db = connect(db_url, init=True)
    db.add(few_sessions)
    db.set_athlete("A0", sex="F", sport="rowing", groups=["squad"])
    before = db.history()
    report = db.rebuild(workers=2)
    assert report.ok and len(report.added) == len(few_sessions)
    _same(db.history(), before)
    assert db.cohort(group="squad", sex="f", sport="Rowing") == ["A0"]


def test_the_password_is_never_printed_or_logged(pg_url, few_sessions, tmp_path, capsys, caplog):
    """Only a server URL holds a password: this runs on PostgreSQL alone."""
    db_url = pg_url
    import logging

    from tests.db.pgserver import PASSWORD

    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's and Alembic's included

    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    wrong = db_url.replace(PASSWORD, PASSWORD + "-wrong")
    runs = [["db", "init", "--db", db_url], ["db", "add", str(few_sessions[0]), str(bad), "--db", db_url],
            ["db", "athletes", "--db", db_url], ["db", "history", "nobody", "--db", db_url],
            ["db", "athletes", "--db", wrong], ["db", "athletes", "--db", db_url + "_missing"]]
    codes = [main(r) for r in runs]
    out = capsys.readouterr()
    text = out.out + out.err
    assert codes == [0, 1, 0, 2, 2, 2], (codes, text)
    assert "cannot connect" in text
    assert PASSWORD not in text and "***" in text
    assert PASSWORD not in repr(connect(db_url))
    assert "Traceback" not in text
    assert caplog.records and PASSWORD not in caplog.text


def test_cohort_filters_and_scores(db_url, few_sessions):
    from datetime import date

    db = connect(db_url, init=True)
    db.add(few_sessions, workers=1)
    db.set_athlete("A0", sex="F", sport="rowing", date_of_birth="2008-06-01", groups=["u18", "squad"])
    db.set_athlete("A1", sex="F", sport="rowing", date_of_birth="2004-01-15", groups=["squad"])
    db.set_athlete("A2", sex="M", sport="rugby", date_of_birth="1990-03-03")
    on = date(2026, 12, 1)
    assert db.cohort(age_band="U19", on=on) == ["A0"]  # 18 on that day
    assert db.cohort(age_band="18-23", on=on) == ["A0", "A1"] and db.cohort(age_band="35+", on=on) == ["A2"]
    assert db.cohort(sex="F", group="squad") == ["A0", "A1"] and db.cohort(sport="rugby") == ["A2"]
    scores = db.cohort_scores("imtp", "peak_force_n", sex="F").set_index("athlete")
    assert sorted(scores.index) == ["A0", "A1"]
    # two athletes: z = +-1/sqrt(2) (SD with n - 1), percentiles 50 and 100
    assert sorted(scores["z"].round(6)) == [round(-2 ** -0.5, 6), round(2 ** -0.5, 6)]
    assert sorted(scores["percentile"]) == [50.0, 100.0]
    latest = db.history(["A0", "A1"], metric="peak_force_n", best=True).groupby("athlete").tail(1)
    assert dict(zip(latest["athlete"], latest["value"], strict=True)) == scores["best"].to_dict()
