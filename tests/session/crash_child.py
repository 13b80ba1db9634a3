"""Child process for the crash tests: appends a known sequence until it is killed.

Usage: python crash_child.py PATH FLUSH_INTERVAL_S FSYNC(0/1) [LATE(0/1)]

Stream "a" (float64, 2000 Hz): columns (n, -n); stream "b" (int32, 500 Hz): n % 2**31;
one event every 10 cycles with label "e<k>"; trial k added every 25 cycles and updated
the cycle after. With LATE=1 a stream "late" (float64, 100 Hz, counter) joins at cycle
5 and gets 2 samples per cycle. After every cycle it prints the totals appended so far, so the parent
knows what was handed to the writer when it killed it.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from labkit.session.writer import ChannelSpec, SessionWriter, StreamSpec

CHUNK_A = 20
CHUNK_B = 5
SLEEP_S = 0.01


def main() -> None:
    path, flush_interval_s, fsync = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
    late = len(sys.argv) > 4 and sys.argv[4] == "1"
    nl = 0
    specs = [
        StreamSpec("a", "force", [ChannelSpec("counter", "count", "counter"),
                                  ChannelSpec("neg", "count")], 2000.0, "float64"),
        StreamSpec("b", "emg", [ChannelSpec("counter", "count", "counter")], 500.0, "int32"),
    ]
    w = SessionWriter(path, specs, flush_interval_s=flush_interval_s, fsync=fsync)
    print("ready", flush=True)
    na = nb = ne = nt = 0
    cycle = 0
    while True:
        a = np.arange(na, na + CHUNK_A, dtype=np.float64)
        w.append("a", np.c_[a, -a], a / 2000.0)
        na += CHUNK_A
        b = np.arange(nb, nb + CHUNK_B)
        w.append("b", (b % 2**31).astype(np.int32), b / 500.0)
        nb += CHUNK_B
        if cycle % 10 == 0:
            w.add_event(cycle * SLEEP_S, f"e{ne}", str(ne), "child")
            ne += 1
        if cycle % 25 == 0:
            w.add_trial(nt, "imtp", float(nt))
            nt += 1
        elif cycle % 25 == 1:
            w.update_trial(nt - 1, status="valid", end=float(nt))
        if late and cycle == 5:
            w.add_stream(StreamSpec("late", "markers", [ChannelSpec("counter", "count", "counter")],
                                    100.0, "float64"))
        if late and cycle >= 5:
            w.append("late", np.arange(nl, nl + 2, dtype=np.float64), np.arange(nl, nl + 2) / 100.0)
            nl += 2
        print(f"{na} {nb} {ne} {nt} {nl}", flush=True)
        cycle += 1
        time.sleep(SLEEP_S)


if __name__ == "__main__":
    main()
