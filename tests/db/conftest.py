"""Database tests run twice: on a SQLite file and on a real PostgreSQL server this suite
starts (tests/db/pgserver.py). Outside CI a machine without PostgreSQL skips the PostgreSQL
runs with the reason; in CI (CI=true) that is an error, as .ci/run installs it."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.db.pgserver import PostgresServer, find_bin


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_bin()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql): the SQLite runs cover "
                    "the same tests")
    server = PostgresServer(bindir)
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"cannot start a throwaway PostgreSQL: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A new, empty database: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lab.db'}"
    server = request.getfixturevalue("pg_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def pg_url(pg_server):
    """A new, empty database on the PostgreSQL server (tests about what only a server has)."""
    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def few_sessions(tmp_path_factory):
    """Six simulated sessions of three athletes (no LSL), each with its known peak forces."""
    from labkit.analysis.synthetic import write_battery_session

    folder = tmp_path_factory.mktemp("sessions")
    files = []
    for k in range(6):
        files.append(write_battery_session(folder / f"s{k}.h5", seed=100 + k, athlete=f"A{k % 3}",
                                           trial_peak_forces_n=[2000.0 + 10 * k, 2050.0, 2100.0 - k]))
    return files


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory):
    """16 athletes x 4 sessions over 26 weeks (64 files): the default suite's cohort."""
    from labkit.db.cohort import simulate_cohort

    return simulate_cohort(tmp_path_factory.mktemp("cohort"), n_athletes=16, n_sessions=4, seed=1,
                           workers=2)
