"""From a session file to a figure: peak force and RFD of every trial, across athletes.

    python examples/session_to_figure.py [SESSION.h5 ...] [-o figure.png]

Without files it writes three simulated IMTP sessions first (labkit.analysis.synthetic).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import labkit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=Path("imtp_summary.png"))
    args = ap.parse_args()
    files = args.files
    if not files:
        from labkit.analysis.synthetic import write_battery_session

        tmp = Path(tempfile.mkdtemp(prefix="labkit-example-"))
        files = [write_battery_session(tmp / f"athlete{k}.h5", seed=k) for k in range(3)]

    # 1. one tidy table: one row per session x trial x metric, with provenance columns
    df = labkit.analyze(files)
    print(df[["athlete", "trial", "metric", "value", "unit", "valid"]].head())

    # 2. pandas as usual: valid trials, two metrics side by side
    wide = (df[df["valid"] & df["metric"].isin(["peak_force_n", "rfd_0_200ms_n_s"])]
            .pivot_table(index=["athlete", "trial"], columns="metric", values="value"))
    print(wide.round(0))

    # 3. the figure
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for athlete, rows in wide.groupby(level="athlete"):
        ax.scatter(rows["rfd_0_200ms_n_s"], rows["peak_force_n"], label=athlete)
    ax.set_xlabel("RFD 0-200 ms (N/s)")
    ax.set_ylabel("peak force (N)")
    ax.legend(title="athlete")
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"saved {args.output}")

    # 4. one session's full report (plots embedded) for sharing
    from labkit.analysis.report import write_report

    print(f"saved {write_report(files[0], args.output.with_suffix('.html'))}")


if __name__ == "__main__":
    main()
