"""The lab screen in a real headless Chromium at lab load: live-trace frame rate and
sample-to-screen latency, and what the screens cost the recording, measured in one run.

The simulated lab (2 plates at 2000 Hz, 16 EMG at 2148 Hz, mocap at 200 Hz, truth) is
recorded through the web server's recorder (``POST /api/record/start``), first with no
screen (the baseline), then with the technician console and the athlete screen open in
Chromium plus --extra-clients WebSocket screens. In the browser, every animation frame that
redraws the trace counts as a frame; the latency of a sample is the time from its time stamp
(session clock, mapped to the browser's clock by the offset the server sends) to the first
redraw that shows it (it includes the recorder's ~50 ms pulls and the 25 ms frame period).

Targets (issue 17): >= 30 frames/s and latency p95 <= 100 ms.

Usage: python benchmarks/bench_web.py [--seconds 20] [--extra-clients 20]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labkit.lsl.loopback import configure_loopback  # noqa: E402

configure_loopback(f"bench-web-{uuid.uuid4().hex[:8]}")

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import websockets.sync.client as ws_client  # noqa: E402
import yaml  # noqa: E402

import labkit  # noqa: E402
from labkit.config.hardware import DEFAULT_CONFIG, load_hardware_config  # noqa: E402
from labkit.devices.sim.lab import SimulatedLab  # noqa: E402
from labkit.web.app import LabApp  # noqa: E402
from labkit.web.control import RecordControl  # noqa: E402
from labkit.web.server import LabServer  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _config():
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["source_prefix"] = f"bw{uuid.uuid4().hex[:8]}"
    return load_hardware_config("bench-web.yaml", text=yaml.safe_dump(data, sort_keys=False))


def _recording(server: LabServer, control: RecordControl, seconds: float, during=None) -> dict:
    """Record for ``seconds`` (calling ``during()`` meanwhile); lost samples and commit gaps."""
    r = httpx.post(server.url + "api/record/start", json={}, timeout=60)
    r.raise_for_status()
    writer = control.recorder.writer
    gaps, stop = [], threading.Event()

    def watch() -> None:
        last, since = writer._committed_at, time.monotonic()
        while not stop.is_set() and not writer.closed:
            if writer._committed_at != last:
                now = time.monotonic()
                gaps.append(now - since)
                last, since = writer._committed_at, now
            time.sleep(0.005)

    t = threading.Thread(target=watch)
    t.start()
    result = during(seconds) if during else time.sleep(seconds)
    stop.set()
    t.join()
    path = httpx.post(server.url + "api/record/stop", json={}, timeout=60).json()["file"]
    lost = {}
    with labkit.open_session(path) as s:
        for name in s.streams:
            c = s.stream(name).counter
            if c is not None and len(c):
                lost[name] = int((c[-1] - c[0] + 1) - len(c))
    return {"lost": lost, "gap_max_s": max(gaps), "gap_p95_s": float(np.percentile(gaps, 95)),
            "browser": result}


def _browser(url: str, extra: int):
    from playwright.sync_api import sync_playwright

    def measure(seconds: float) -> dict:
        stop = threading.Event()

        def reader() -> None:
            with ws_client.connect(url.replace("http", "ws") + "ws", open_timeout=20) as ws:
                while not stop.is_set():
                    try:
                        ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue

        readers = [threading.Thread(target=reader) for _ in range(extra)]
        for r in readers:
            r.start()
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(profile, executable_path=shutil.which("chromium"),
                                                       headless=True, args=FLAGS,
                                                       viewport={"width": 1400, "height": 1000})
            console, athlete = ctx.new_page(), ctx.new_page()
            console.goto(url)
            athlete.goto(url + "athlete")
            out = {}
            # each screen measured while it is the visible one (a hidden tab's animation frames
            # are throttled by the browser; in the lab each screen is its own window)
            for name, page in (("console", console), ("athlete", athlete)):
                page.bring_to_front()
                time.sleep(2.0)  # warm up: first frames, layout
                page.evaluate("labkitStats.draw_times.length = 0; labkitStats.latencies_ms.length = 0")
                time.sleep(seconds / 2 - 2.0)
                draws = np.array(page.evaluate("labkitStats.draw_times"))
                lat = np.array(page.evaluate("labkitStats.latencies_ms"))
                starts = np.arange(draws[0], draws[-1] - 1000, 1000)
                per_s = [np.sum((draws >= a) & (draws < a + 1000)) for a in starts]
                out[name] = {"fps_median": float(np.median(per_s)), "fps_min": float(np.min(per_s)),
                             "latency_p50_ms": float(np.percentile(lat, 50)),
                             "latency_p95_ms": float(np.percentile(lat, 95)),
                             "latency_max_ms": float(lat.max()), "n_latency": len(lat)}
            ctx.close()
        stop.set()
        for r in readers:
            r.join()
        return out

    return measure


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--extra-clients", type=int, default=20)
    args = ap.parse_args()
    config, text = _config()
    with tempfile.TemporaryDirectory() as folder, SimulatedLab(config):
        control = RecordControl(config, text, Path(folder), template="bench_%n.h5")
        server = LabServer(LabApp(record=control), port=0).start()
        try:
            base = _recording(server, control, args.seconds)
            busy = _recording(server, control, args.seconds, _browser(server.url, args.extra_clients))
        finally:
            server.stop()
    print(f"lab load: {', '.join(config.recording.streams)}; {args.seconds:.0f} s per phase; console + "
          f"athlete screen in Chromium + {args.extra_clients} WebSocket screens")
    for name, b in busy["browser"].items():
        print(f"{name}: live trace {b['fps_median']:.0f} frames/s median (slowest second {b['fps_min']:.0f}; "
              f"target >= 30); sample-to-screen latency p50 {b['latency_p50_ms']:.0f} ms, p95 "
              f"{b['latency_p95_ms']:.0f} ms, max {b['latency_max_ms']:.0f} ms over {b['n_latency']} new "
              "frames (target p95 <= 100 ms)")
    print(f"recording alone (baseline): lost {base['lost']}, commit gap max {base['gap_max_s']:.3f} s, "
          f"p95 {base['gap_p95_s']:.3f} s")
    print(f"recording with the screens:  lost {busy['lost']}, commit gap max {busy['gap_max_s']:.3f} s, "
          f"p95 {busy['gap_p95_s']:.3f} s (ratio of max gaps {busy['gap_max_s'] / base['gap_max_s']:.2f})")


if __name__ == "__main__":
    main()
