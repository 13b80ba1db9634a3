"""Analysis for sports scientists: tidy tables, batches, reports, import and export.

``labkit.analyze(paths)`` gives one tidy pandas table (one row per session x trial x
metric); :mod:`labkit.analysis.batch` runs it over many files on a process pool or a Dask
cluster; :mod:`labkit.analysis.report` draws figures and HTML reports. See docs/analysis.md.
"""

from __future__ import annotations

from labkit.analysis.tidy import COLUMNS, analyze, load_params, metric_unit, session_metrics

__all__ = ["COLUMNS", "analyze", "load_params", "metric_unit", "session_metrics"]
