"""Every table and number the ``labkit`` command prints: rich tables, formatted values.

The command modules call the library and hand its results here; nothing in this module
computes or writes anything but the text on the console.
"""

from __future__ import annotations

import contextlib
import math
import sys
from pathlib import Path
from typing import Any


def console():
    from rich.console import Console

    # pipes and CI logs get a width that fits the tables; terminals keep their own
    return Console(highlight=False, width=None if sys.stdout.isatty() else 132)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


# -- sessions (inspect, repair) -----------------------------------------------------------
def print_report(report: dict[str, Any], *, show_channels: bool) -> None:
    """The report of :func:`labkit.session.inspect.inspect_session`, as tables."""
    from rich.markup import escape
    from rich.table import Table

    con = console()
    info = report["info"]
    con.print(f"[bold]{report['file']}[/bold]  ({report['size_bytes'] / 1e6:.1f} MB)")
    con.print(
        f"format {info.get('format')} v{info.get('format_version')} · status "
        f"[bold]{info.get('status')}[/bold] · session {info.get('session_id')}\n"
        f"subject {info.get('subject') or '-'} · operator {info.get('operator') or '-'} · "
        f"protocol {info.get('protocol') or '-'} · created {info.get('created_utc')} · "
        f"labkit {info.get('labkit_version')}"
    )
    if info.get("notes"):
        con.print(f"notes: {info['notes']}")
    table = Table(title="streams", title_justify="left")
    for col in ("name", "type", "Hz", "eff. Hz", "samples", "expected", "lost", "ch", "dur s",
                "gaps", "offsets"):
        table.add_column(col, justify="left" if col in ("name", "type") else "right")
    for st in report["streams"]:
        table.add_row(st["name"], st["type"], fmt(st["nominal_rate_hz"]),
                      fmt(st["effective_rate_hz"]), str(st["n_samples"]),
                      fmt(st["expected_samples"]), fmt(st["lost_samples"]), str(st["n_channels"]),
                      fmt(st["duration_s"]), str(len(st["gaps"])), str(st["n_clock_offsets"]))
    for st in report["streams"]:
        for gap in st["gaps"][:10]:
            con.print(f"[yellow]gap[/yellow] in {st['name']} after {gap['after_s']:.3f} s: "
                      f"{gap['missing_samples']} samples missing ({gap['source']})")
    con.print(table)
    for st in report["streams"]:
        labels = [f"{c['label']} [{c['unit']}]" if c["unit"] else c["label"]
                  for c in st["channels"]]
        if not show_channels and len(labels) > 8:
            labels = [*labels[:6], f"... {len(labels) - 6} more (--channels)"]
        # escaped: a unit like "[m]" would otherwise be read as rich markup and vanish
        con.print(f"[bold]{st['name']}[/bold] channels: " + escape(", ".join(labels)))
    if report["n_events"]:
        ev = Table(title=f"events ({report['n_events']})", title_justify="left")
        for col in ("time s", "label", "value", "source"):
            ev.add_column(col)
        for e in report["events"]:
            ev.add_row(fmt(e["time"]), e["label"], e["value"], e["source"])
        con.print(ev)
    if report["trials"]:
        tr = Table(title="trials", title_justify="left")
        for col in ("id", "test", "side", "attempt", "start s", "end s", "status", "reason"):
            tr.add_column(col)
        for t in report["trials"]:
            tr.add_row(str(t["id"]), t["test"], t["side"], str(t["attempt"]), fmt(t["start"]),
                       fmt(t["end"]), t["status"], t["reason"])
        con.print(tr)
    if report["results"]:
        con.print("results: " + ", ".join(report["results"]))
    for st in report["streams"]:
        if st.get("occluded_samples"):
            con.print(f"{st['name']}: {st['occluded_samples']} of {st['n_samples']} frames have an "
                      "occluded marker (NaN coordinates)")
    for note in report.get("notes", ()):
        con.print(note)
    if report["problems"]:
        con.print("[bold red]problems:[/bold red]")
        for p in report["problems"]:
            con.print(f"  [red]-[/red] {p}")
    else:
        con.print("[green]no integrity problems found[/green]")


def print_repair(file: Path, report: Any) -> None:
    """What :func:`labkit.session.repair.repair_session` did."""
    con = console()
    if not report.repaired:
        con.print(f"{file}: {report.message}")
        return
    kept = {k: v for k, v in report.rows_kept.items() if k.endswith("/data")}
    con.print(f"{file}: {report.message}")
    for key, n in kept.items():
        con.print(f"  {key.split('/')[1]}: {n} samples")
    if report.backup:
        con.print(f"original kept as {report.backup}")


# -- the lab (demo, streams, record) ------------------------------------------------------
def print_metrics(metrics: Any, result_name: str) -> None:
    """The lab demo's pulls against the simulated athlete's true values."""
    from rich.table import Table

    table = Table(title=f"isometric mid-thigh pulls (results group '{result_name}'; true values "
                        "from the simulated athlete in brackets)", title_justify="left")
    for col in ("trial", "onset error ms", "peak force N", "RFD 0-100 ms N/s", "RFD 0-200 ms N/s",
                "valid", "flags"):
        table.add_column(col, justify="right" if col not in ("valid", "flags") else "left")
    for _, row in metrics.iterrows():
        has_truth = "true_onset_s" in row and row["true_onset_s"] == row["true_onset_s"]

        def pair(key: str, true_key: str, row=row, has_truth=has_truth) -> str:
            value = f"{row[key]:.0f}"
            return f"{value} [{row[true_key]:.0f}]" if has_truth else value

        onset_err = (f"{(row['onset_s'] - row['true_onset_s']) * 1e3:+.1f}" if has_truth else "-")
        table.add_row(str(row["trial"]), onset_err, pair("peak_force_n", "true_peak_force_n"),
                      pair("rfd_0_100ms_n_s", "true_rfd_0_100ms_n_s"),
                      pair("rfd_0_200ms_n_s", "true_rfd_0_200ms_n_s"),
                      "yes" if row["valid"] else "[red]no[/red]", row["flags"] or "-")
    console().print(table)
    console().print("onset by the default BW + 5 SD rule (held 30 ms) detects late by design; "
                    "see docs/metrics.md")


def print_demo_trial(summary: dict[str, float]) -> None:
    """The synthetic demo trial (:func:`labkit.demo.demo_trial_summary`) against its truth."""
    console().print(
        f"\n[bold]IMTP trial[/bold]: body weight {summary['body_weight_n']:.1f} N (true "
        f"{summary['true_body_weight_n']:.1f}), peak force {summary['peak_force_n']:.1f} N (true "
        f"{summary['true_peak_force_n']:.1f}), onset (BW + 5 SD) {summary['onset_s']:.4f} s (true "
        f"{summary['true_onset_s']:.4f} s)"
    )


def print_streams(found: list[Any]) -> None:
    """LSL streams found by :func:`labkit.lsl.streams.summarize`."""
    from rich.table import Table

    table = Table(title=f"LSL streams ({len(found)})", title_justify="left")
    for col in ("name", "type", "source_id", "Hz", "format", "ch", "channels", "host"):
        table.add_column(col)
    for st in found:
        labels = ", ".join(st.labels[:4]) + (f", ... (+{len(st.labels) - 4})" if len(st.labels) > 4 else "")
        table.add_row(st.name, st.type, st.source_id, fmt(st.nominal_rate_hz), st.channel_format,
                      str(st.n_channels), labels, st.hostname)
    console().print(table)
    if not found:
        console().print("no streams found: start the devices or `labkit simulate`")


def status_table(recorder: Any):
    """The live table of a running :class:`labkit.record.recorder.Recorder`."""
    from rich.table import Table

    elapsed = 0.0
    if recorder.started_at is not None:
        import pylsl

        elapsed = pylsl.local_clock() - recorder.started_at
    table = Table(title=f"recording {recorder.out_path}  {elapsed:7.1f} s  "
                        f"{recorder.file_size_bytes() / 1e6:.1f} MB", title_justify="left")
    for col in ("stream", "type", "Hz", "measured Hz", "samples", "gaps", "lost", "lag ms", "state"):
        table.add_column(col, justify="left" if col in ("stream", "type", "state") else "right")
    for st in recorder.status():
        state = "[red]stalled[/red]" if st.stalled else "[green]ok[/green]"
        table.add_row(st.name, st.type, fmt(st.nominal_rate_hz, 1), fmt(st.measured_rate_hz, 2),
                      str(st.samples), str(st.gaps), str(st.missing_samples),
                      fmt(st.lag_s * 1e3, 1), state)
    return table


# -- analysis (analyze) ---------------------------------------------------------------------
@contextlib.contextmanager
def analysis_progress(n_files: int):
    """A transient progress bar over the files of ``labkit analyze``. Yields the ``progress``
    callback of :func:`labkit.analysis.batch.analyze_files`: a file that failed is printed as
    one ``labkit: failed: FILE: reason`` line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task("files", total=n_files)

        def progress(path: str, error: str) -> None:
            bar.advance(task)
            if error:
                msg = error if error.startswith(path) else f"{path}: {error}"
                bar.console.print(f"labkit: failed: {msg}", markup=False, highlight=False,
                                  soft_wrap=True)

        yield progress


# -- protocols (protocols list/show, run) ---------------------------------------------------
def print_protocols(protocols: list[tuple[Any, Path]]) -> None:
    """(protocol, file) pairs of the shipped protocols."""
    from rich.table import Table

    table = Table(title="protocols", title_justify="left")
    for col in ("name", "file", "trials", "description"):
        table.add_column(col)
    for p, path in protocols:
        tests = sorted({t.test for t in p.trial_steps()})
        table.add_row(p.name, str(path.name), ", ".join(tests), p.description)
    console().print(table)


def print_protocol(p: Any) -> None:
    """A protocol's steps as the runner will run them."""
    con = console()
    con.print(f"[bold]{p.name}[/bold] v{p.version}: {p.description}")
    con.print(f"needs streams {p.requires.streams}; uses {p.requires.optional} when present")
    for field in p.subject:
        con.print(f"asks: {field.prompt} ({field.type}{'' if field.required else ', optional'})")

    def walk(steps, depth):
        for step in steps:
            body = step.body
            pad = "  " * depth
            if step.kind == "repeat":
                con.print(f"{pad}- repeat until {body.until_valid} valid (at most "
                          f"{body.max_attempts} attempts):")
                walk(body.steps, depth + 1)
            elif step.kind == "per_side":
                con.print(f"{pad}- for each side {body.sides}:")
                walk(body.steps, depth + 1)
            elif step.kind == "trial":
                extra = " ".join(x for x in (body.side, body.direction, body.muscle) if x)
                con.print(f"{pad}- trial {body.test} {extra}: quiet {body.quiet_s:g} s, effort "
                          f"{body.effort_s:g} s, aggregate {body.aggregate}")
            else:
                detail = {k: v for k, v in body.model_dump().items() if v not in (None, "")}
                con.print(f"{pad}- {step.kind} {detail}")

    walk(p.steps, 0)


def print_run_results(table: Any, aggregates: Any, path: Path, result_name: str) -> None:
    """The trials and per-test aggregates of a finished ``labkit run``."""
    import numpy as np
    from rich.table import Table

    from labkit.trials.catalogue import CATALOGUE
    from labkit.trials.formats import format_value, metric_unit

    con = console()
    t = Table(title=f"trials ({path}, results group '{result_name}')", title_justify="left")
    for col in ("trial", "test", "att.", "valid", "headline", "RFD 0-100 ms", "RFD 0-200 ms", "other",
                "reason"):
        t.add_column(col)
    for _, row in table.iterrows():
        test = CATALOGUE[str(row["test"])]
        unit = row.get("unit", test.unit) if isinstance(row.get("unit"), str) else test.unit
        other = ""
        contact = next((k for k in ("contact_time_s", "contact_time_best_mean_s")
                        if test.reports(k) and k in row.index), None)
        if test.kind == "jump" and contact is not None:  # reactive tests: their ground contact
            other = f"contact {format_value(1000.0 * float(row[contact]), 'ms')}"
        elif test.kind == "jump":
            other = f"peak force {format_value(row.get('peak_force_n', float('nan')), 'N')}"
        # EMD of the muscles whose onset belongs to this effort (the one EMD rule, applied
        # when the trial was analysed: labkit.signal.timing.effort_onset)
        emd = [float(row[c]) for c in table.columns if c.startswith("emd_") and np.isfinite(row[c])]
        if emd:
            other = (other + " " if other else "") + f"EMD {np.median(emd):.0f} ms ({len(emd)} mm.)"
        value = row.get(test.headline)
        value = float("nan") if value is None else value
        if test.kind == "jump":  # jump height in m; RSI (catalogue headline) without a unit
            shown = f"{test.headline_label} {format_value(value, metric_unit(test.headline))}"
        elif test.kind == "mvc":
            shown = f"MVC {format_value(value, 'V')}"
        elif test.kind == "run":
            shown = f"{test.headline_label} {format_value(value, metric_unit(test.headline))}"
            other = (f"contact {format_value(row.get('contact_time_s', float('nan')), 's')}, "
                     f"hip ext. lower {row.get('hip_extension_deficit_side', '-')}, "
                     f"pelvic drop larger {row.get('pelvic_drop_side', '-')}")
        else:
            shown = f"{test.headline_label} {format_value(value, unit)}"
        rfd = [format_value(row.get(k, float("nan")), f"{unit}/s") or "-" if test.kind == "isometric" else "-"
               for k in ("rfd_0_100ms_n_s", "rfd_0_200ms_n_s")]
        t.add_row(str(row["trial"]), str(row["label"]), str(row["attempt"]),
                  "yes" if row["valid"] else "[red]no[/red]", shown, rfd[0], rfd[1], other,
                  str(row["reason"])[:60])
    con.print(t)
    if aggregates is not None and len(aggregates):
        a = Table(title="per test", title_justify="left")
        for col in ("test", "metric", "method", "value", "valid/total", "repeat needed"):
            a.add_column(col)
        for _, row in aggregates.iterrows():
            a.add_row(str(row["label"]), str(row["metric"]), str(row["method"]), fmt(row["value"], 3),
                      f"{row['n_valid']}/{row['n_trials']}", "yes" if row["repeat_needed"] else "no")
        con.print(a)
    con.print(f"saved {path}; open it with labkit.open_session({str(path)!r})")


# -- the database (labkit db ...) ---------------------------------------------------------
#: columns of `labkit db history` as a text table (--json and --csv give every column)
HISTORY_COLUMNS = ("date", "session_id", "result", "test", "side", "trial", "metric", "value", "unit",
                   "valid", "n_valid", "mean")


@contextlib.contextmanager
def ingest_progress(n_files: int):
    """A transient progress bar over the files of ``labkit db add``/``rebuild``; a file that
    failed is printed as one ``labkit: failed: FILE: reason`` line."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("adding"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True, console=console_err()) as bar:
        task = bar.add_task("files", total=n_files)

        def progress(path: str, outcome: str, error: str) -> None:
            bar.advance(task)
            if error:
                bar.console.print(f"labkit: failed: {error}", markup=False, highlight=False,
                                  soft_wrap=True)

        yield progress


def console_err():
    from rich.console import Console

    return Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 132)


def ingest_summary(report: Any) -> str:
    """One line: what ``labkit db add`` did."""
    text = (f"{report.n_files} files: {len(report.added)} added, {len(report.updated)} updated "
            f"(new result versions), {len(report.unchanged)} unchanged")
    return text + (f", {len(report.failures)} failed" if report.failures else "")


def print_frame(table: Any, *, title: str, as_json: bool = False, as_csv: bool = False,
                columns: tuple[str, ...] | None = None) -> None:
    """A DataFrame as a rich table, as JSON (a list of row objects, NaN as null) or as CSV."""
    if as_json:
        from labkit._json import dumps

        sys.stdout.write(dumps(table.to_dict(orient="records")) + "\n")
        return
    if as_csv:
        sys.stdout.write(table.to_csv(index=False))
        return
    from rich.markup import escape
    from rich.table import Table

    cols = [c for c in (columns or table.columns) if c in table.columns]
    t = Table(title=f"{title} ({len(table)} rows)", title_justify="left")
    for c in cols:
        t.add_column(c, justify="right" if table[c].dtype.kind in "fiu" else "left")
    for row in table[cols].itertuples(index=False):
        t.add_row(*(escape(fmt(v, 3 if isinstance(v, float) else 0)) for v in row))
    console().print(t)


def print_trial_metrics(tidy: Any, *, title: str) -> None:
    """One imported trial's metrics: per side (left, right, asymmetry) when sided, else one
    value each; SDs and per-channel EMG timing are left to the tidy table."""
    import pandas as pd

    from labkit.trials.formats import format_value

    values = {m: (v, u) for m, v, u in zip(tidy["metric"], tidy["value"], tidy["unit"], strict=True)}
    sided = sorted({m[len("left_"):] for m in values if m.startswith("left_") and not m.endswith("_sd")
                    and f"right_{m[len('left_'):]}" in values})
    rows = []
    for m, (v, u) in values.items():
        if m.endswith("_sd") or m.startswith(("left_", "right_", "asym_", "emg_")):
            continue
        rows.append({"metric": m, "left": "", "right": "", "value / asym.": format_value(v, str(u))
                     if isinstance(v, float) else str(v)})
    for m in sided:
        lv, lu = values[f"left_{m}"]
        rv, ru = values[f"right_{m}"]
        asym = values.get(f"asym_{m}_pct", (float("nan"), "%"))
        rows.append({"metric": m, "left": format_value(lv, str(lu)), "right": format_value(rv, str(ru)),
                     "value / asym.": format_value(asym[0], "%") if asym[0] == asym[0] else "-"})
    print_frame(pd.DataFrame(rows), title=title)
