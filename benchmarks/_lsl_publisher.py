"""Publisher process for the recorder benchmark: N streams x C channels at R Hz over LSL.

Usage: python _lsl_publisher.py PREFIX N_STREAMS N_CHANNELS RATE_HZ DURATION_S
Each stream is float32 with a trailing counter channel, pushed every 10 ms with
per-sample stamps. Prints "ready" once every outlet exists.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pylsl

from labkit.lsl.streams import create_outlet
from labkit.spec import ChannelSpec, StreamSpec


def main() -> None:
    prefix, n_streams, n_channels = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rate, duration = float(sys.argv[4]), float(sys.argv[5])
    outlets = []
    for k in range(n_streams):
        chans = [ChannelSpec(f"c{i}", "V", "emg") for i in range(n_channels - 1)]
        spec = StreamSpec(f"{prefix}-s{k}", "emg", [*chans, ChannelSpec("counter", "count", "counter")],
                          rate, "float32", source_id=f"{prefix}-s{k}")
        outlets.append(create_outlet(spec, max_buffered_s=60))
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((int(rate), n_channels)).astype(np.float32) * 1e-4
    print("ready", flush=True)
    t0 = pylsl.local_clock()
    sent = 0
    while True:
        now = pylsl.local_clock()
        if now - t0 > duration:
            break
        target = int((now - t0) * rate)
        if target > sent:
            idx = np.arange(sent, target)
            block = noise[idx % len(noise)].copy()
            block[:, -1] = idx
            stamps = t0 + idx / rate
            for o in outlets:
                o.push_chunk(block, stamps.tolist())
            sent = target
        time.sleep(0.01)


if __name__ == "__main__":
    main()
