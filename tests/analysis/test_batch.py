"""`labkit analyze` over 20 simulated sessions: the tidy table equals each session's stored
results, a corrupted file is reported and skipped, and --dask local gives the same table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import labkit
from labkit.analysis.batch import analyze_files
from labkit.cli import main

from .conftest import N_SESSIONS


def _run_cli(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_batch_table_equals_per_session_results_and_a_corrupt_file_is_skipped(battery_files, tmp_path,
                                                                            capsys):
    bad = tmp_path / "corrupt.h5"
    good = battery_files[0].read_bytes()
    bad.write_bytes(good[: len(good) // 3])  # a truncated copy
    files = [str(f) for f in battery_files[:10]] + [str(bad)] + [str(f) for f in battery_files[10:]]
    out = tmp_path / "results.csv"
    code, text = _run_cli(["analyze", *files, "-o", str(out), "--workers", "2"], capsys)
    assert code == 1, text
    failed = [line for line in text.splitlines() if line.startswith("labkit: failed:")]
    assert len(failed) == 1 and str(bad) in failed[0], text
    assert f"from {N_SESSIONS} of {N_SESSIONS + 1} files" in text
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert table["path"].nunique() == N_SESSIONS and str(bad) not in set(table["path"])
    assert list(table["path"].drop_duplicates()) == [str(f) for f in battery_files]  # input order
    for f in battery_files:
        with labkit.open_session(f) as s:
            stored = s.result("protocol").tables["trials"]
        mine = table[table["path"] == str(f)]
        metrics = [c for c in stored.columns if stored[c].dtype.kind == "f"]
        assert len(mine) == len(stored) * len(metrics)
        for m in metrics:
            got = mine[mine["metric"] == m].sort_values("trial")["value"].to_numpy()
            np.testing.assert_allclose(got, stored[m].to_numpy(), rtol=1e-15, atol=0, equal_nan=True)


def test_all_good_files_exit_zero_and_parquet(battery_files, tmp_path, capsys):
    out = tmp_path / "r.parquet"
    pytest.importorskip("pyarrow", reason="pyarrow not installed: Parquet output untested")
    code, text = _run_cli(["analyze", *map(str, battery_files[:3]), "-o", str(out), "--workers", "1"], capsys)
    assert code == 0, text
    pd.testing.assert_frame_equal(pd.read_parquet(out), labkit.analyze(battery_files[:3]))


def test_unknown_output_format_is_one_clear_line(battery_files, tmp_path, capsys):
    code, text = _run_cli(["analyze", str(battery_files[0]), "-o", str(tmp_path / "r.xlsx")], capsys)
    assert code == 2 and "labkit: error:" in text and ".csv or .parquet" in text


def test_dask_local_gives_the_identical_table(battery_files, tmp_path, capsys):
    pytest.importorskip("dask.distributed", reason="dask[distributed] not installed (the 'dask' extra)")
    pool_csv, dask_csv = tmp_path / "pool.csv", tmp_path / "dask.csv"
    files = [str(f) for f in battery_files]
    code, text = _run_cli(["analyze", *files, "-o", str(pool_csv), "--workers", "2"], capsys)
    assert code == 0, text
    code, text = _run_cli(["analyze", *files, "-o", str(dask_csv), "--workers", "2", "--dask", "local"],
                          capsys)
    assert code == 0, text
    pd.testing.assert_frame_equal(pd.read_csv(pool_csv), pd.read_csv(dask_csv))
    # and the in-memory tables, re-analysed with other parameters, are identical too
    params = {"imtp": {"onset_k": 4.0}}
    a = analyze_files(files[:4], params, workers=2)
    b = analyze_files(files[:4], params, workers=2, dask="local")
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.table, labkit.analyze(files[:4], params))
