"""A simulated cohort with a known training effect and a known test-retest noise, stored in
the database (SQLite and PostgreSQL): the history equals the per-file ``labkit.analyze``
values exactly, the typical error matches the simulated noise, every simulated meaningful
change is flagged and almost nothing else is.

The default suite runs 16 athletes x 4 sessions (64 files, 128 degrees of freedom for the
typical error: its relative standard error is 1/sqrt(2 x 128) = 6 %, so it is checked
within 15 %); ``-m slow`` runs the issue's 40 athletes x 5 sessions over 26 weeks (200
files, 400 degrees of freedom, 3.5 %: checked within 10 %).
"""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit.db import connect


def _check(db_url, cohort, te_tolerance):
    db = connect(db_url, init=True)
    report = db.add(cohort.files, workers=2)
    assert report.ok and len(report.added) == len(cohort.files)
    keys = ["session_id", "trial", "metric"]
    stored = db.history().sort_values(keys).reset_index(drop=True)
    files = labkit.analyze(cohort.files).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, files, check_dtype=False, check_exact=True)

    te, swc = db.reliability("imtp", "peak_force_n")
    assert abs(te.te - cohort.noise_n) <= te_tolerance * cohort.noise_n, te
    assert te.df == len(cohort.files) * 2
    ch = db.changes(None, "imtp", "peak_force_n").merge(cohort.truth, on=["athlete", "date"])
    assert len(ch) == len(cohort.files)
    later = ch[ch["session"] > 1]
    real = later[later["meaningful"]]
    null = later[~later["meaningful"]]
    assert len(real) and len(null)
    expected = real["true_change_n"].gt(0).map({True: "improved", False: "declined"})
    assert (real["flag"] == expected).all(), real[real["flag"] != expected]
    false_rate = (null["flag"] != "").mean()
    assert false_rate < 0.05, null[null["flag"] != ""]
    return te, swc, len(real), int((null["flag"] != "").sum()), len(null)


def test_small_cohort_history_typical_error_and_flags(db_url, small_cohort):
    _check(db_url, small_cohort, 0.15)


@pytest.mark.slow
def test_issue_cohort_200_sessions_of_40_athletes_over_26_weeks(db_url, tmp_path_factory):
    from labkit.db.cohort import simulate_cohort

    cohort = simulate_cohort(tmp_path_factory.mktemp("cohort200"), n_athletes=40, n_sessions=5,
                             weeks=26, seed=2, workers=2)
    te, swc, n_real, n_false, n_null = _check(db_url, cohort, 0.10)
    print(f"TE {te.te:.1f} N vs simulated {cohort.noise_n} N ({te.df} df); SWC {swc:.1f} N; "
          f"{n_real}/{n_real} meaningful changes flagged; {n_false}/{n_null} false flags")
