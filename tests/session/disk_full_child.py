"""Child process of tests/session/test_disk_full.py: write a session until a write fails.

Usage: ``python -m tests.session.disk_full_child fill|create PATH``, PATH on a small tmpfs
(ENOSPC) or with a file-size limit set by the parent (RLIMIT_FSIZE, SIGXFSZ ignored:
EFBIG). Prints one JSON line: the rows committed by the last successful flush, the
error, and whether later calls raised the same error.
"""

from __future__ import annotations

import json
import sys

from labkit.errors import SessionWriteError
from labkit.session.writer import SessionWriter
from tests.session.streams import block, lab_streams


def fill(path: str) -> dict:
    specs = lab_streams()
    w = SessionWriter(path, specs, protocol="imtp", flush_interval_s=0.1)
    rows = dict.fromkeys((s.name for s in specs), 0)
    committed = {**rows, "events": 0}
    n_events = 0
    out: dict = {}
    try:
        for step in range(100000):
            for spec in specs:
                n = max(1, int(spec.nominal_rate_hz * 0.1))
                w.append(spec.name, *block(spec, rows[spec.name], n))
                rows[spec.name] += n
            w.add_event(50.0 + step * 0.1, "step", str(step), "test")
            n_events += 1
            w.flush()
            committed = {**rows, "events": n_events}
    except SessionWriteError as exc:
        out["error"] = str(exc)
        out["errno"] = exc.errno
        out["same_after"] = []
        for call in (lambda: w.append(specs[0].name, *block(specs[0], 0, 1)),
                     lambda: w.add_event(1.0, "late"), w.flush):
            try:
                call()
                out["same_after"].append(False)
            except SessionWriteError as again:
                out["same_after"].append(again is exc)
        w.close()  # stopped by the failure: does nothing
        out["closed"] = w.closed
    out["committed"] = committed
    return out


def create(path: str) -> dict:
    spec = lab_streams()[0]
    try:
        SessionWriter(path, [spec])
    except SessionWriteError as exc:
        return {"error": str(exc), "errno": exc.errno}
    return {}


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    result = fill(target) if mode == "fill" else create(target)
    print(json.dumps(result))
