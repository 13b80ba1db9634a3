"""Which database: --db, LABKIT_DB, the lab config; one-line errors naming the URL and the fix;
and `labkit run` adding its session to the configured database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import labkit
from labkit.cli import main
from labkit.db import connect
from labkit.db.engine import configured_url, safe_url
from labkit.errors import ConfigError


def test_url_from_argument_env_then_lab_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LABKIT_DB", raising=False)
    monkeypatch.delenv("LABKIT_LAB_CONFIG", raising=False)
    assert configured_url(None, required=False) is None
    with pytest.raises(ConfigError, match="no database configured; pass --db URL"):
        configured_url(None)
    (tmp_path / "labkit-lab.yaml").write_text("database: sqlite:///from-config.db\n")
    assert configured_url(None) == "sqlite:///from-config.db"
    monkeypatch.setenv("LABKIT_DB", "sqlite:///from-env.db")
    assert configured_url(None) == "sqlite:///from-env.db"
    assert configured_url("sqlite:///given.db") == "sqlite:///given.db"
    monkeypatch.setenv("LABKIT_LAB_CONFIG", str(tmp_path / "missing.yaml"))
    monkeypatch.delenv("LABKIT_DB")
    with pytest.raises(ConfigError, match=r"LABKIT_LAB_CONFIG=.*missing\.yaml: no such file"):
        configured_url(None)


def test_safe_url_hides_the_password():
    assert safe_url("postgresql+psycopg://lab:hunter2@db.lab:5432/athletes") == \
        "postgresql+psycopg://lab:***@db.lab:5432/athletes"


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://u:pw@h/db", "unsupported database 'mysql'"),
    ("not a url", "not a database URL"),
    ("sqlite:////nonexistent-folder-xyz/lab.db", "folder /nonexistent-folder-xyz does not exist"),
])
def test_bad_urls_are_one_line(url, message, capsys):
    assert main(["db", "athletes", "--db", url]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "pw" not in err


def test_a_database_not_initialised_names_db_init(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(["db", "athletes", "--db", url]) == 2
    assert f"no labkit database there yet; run `labkit db init --db {url}` first" in capsys.readouterr().err


def test_labkit_run_adds_its_session_to_the_configured_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    assert main(["db", "init", "--db", url]) == 0
    out = tmp_path / "run.h5"
    env = {**os.environ, "LABKIT_DB": url, "COLUMNS": "200"}
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "run", "imtp", "--athlete", "RUN01",
                          "--unattended", "--fast", "-o", str(out)], capture_output=True, text=True,
                         env=env, timeout=300, stdin=subprocess.DEVNULL, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert f"added to the database {url}" in run.stdout
    history = connect(url).history("RUN01")
    assert len(history)
    import pandas as pd

    pd.testing.assert_frame_equal(history, labkit.analyze(out.resolve()), check_dtype=False,
                                  check_exact=True)
