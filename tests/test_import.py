"""``import labkit`` stays light: no numba, pylsl, nidaqmx, matplotlib, dask, h5py, SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numba", "matplotlib", "nidaqmx", "pylsl", "dask", "ezc3d", "pyxdf", "h5py", "pandas", "scipy",
         "sqlalchemy", "alembic", "psycopg")


def test_import_labkit_is_light():
    code = (f"import sys, labkit; heavy = {HEAVY!r}; "
            "print(' '.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_api_resolves_lazily():
    code = ("import labkit, sys; labkit.open_session; assert 'h5py' in sys.modules; "
            "assert 'numba' not in sys.modules; print(sorted(labkit.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "open_session" in out.stdout


def test_the_database_is_imported_only_by_labkit_db():
    code = ("import sys, labkit.cli; assert 'sqlalchemy' not in sys.modules; import labkit.db; "
            "assert 'sqlalchemy' in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
