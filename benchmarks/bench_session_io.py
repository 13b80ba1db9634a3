"""Session write and read speed: labkit vs plain h5py, measured in the same run.

Write: 10 minutes of 16-ch EMG (float32, 2148.148 Hz) + 2 x 6-ch force (float64,
2000 Hz) + 60-ch mocap (float32, 200 Hz), appended in 0.1 s chunks with 1 s flushes.
Baseline: plain h5py, resizable chunked datasets, resize + write per chunk and
``File.flush()`` every second (no commit bookkeeping, no crash-safety ordering).
Target: labkit at most 1.3x the baseline time.

Read: ``open_session(...).stream(name).to_dataframe()`` for every stream (which also
computes synchronised times) vs plain h5py reads of the same datasets.
Target: at most 1.5x.

Usage: python benchmarks/bench_session_io.py [--minutes 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import labkit
from labkit.session.writer import ChannelSpec, SessionWriter, StreamSpec

CHUNK_S = 0.1
FLUSH_S = 1.0
EMG_HZ = 29 / 0.0135


def make_specs() -> list[StreamSpec]:
    def plate(p):
        return [ChannelSpec(f"fp{p}.{c}", "N", "force") for c in ("Fx", "Fy", "Fz", "Mx", "My", "Mz")]

    return [
        StreamSpec("emg", "emg", [ChannelSpec(f"m{i}", "V", "emg") for i in range(16)], EMG_HZ,
                   "float32"),
        StreamSpec("fp1", "force", plate(1), 2000.0, "float64"),
        StreamSpec("fp2", "force", plate(2), 2000.0, "float64"),
        StreamSpec("mocap", "mocap", [ChannelSpec(f"k{i}", "m", "position") for i in range(60)],
                   200.0, "float32"),
    ]


def make_data(minutes: float, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Realistic-looking signals: EMG noise bursts, force around body weight, smooth mocap."""
    rng = np.random.default_rng(seed)
    out = {}
    for spec in make_specs():
        n = int(minutes * 60 * spec.nominal_rate_hz)
        t = 1000.0 + np.arange(n) / spec.nominal_rate_hz + rng.normal(0, 2e-4, n)
        k = len(spec.channels)
        if spec.type == "emg":
            envelope = 1e-5 + 3e-4 * (np.sin(np.arange(n) / spec.nominal_rate_hz) > 0.5)
            data = (rng.standard_normal((n, k)) * envelope[:, None]).astype(np.float32)
        elif spec.type == "force":
            data = 800.0 + rng.normal(0.0, 2.0, (n, k))
        else:
            base = np.linspace(0.0, 1.8, k, dtype=np.float32)
            drift = np.sin(np.arange(n) / 200.0)[:, None].astype(np.float32) * 0.05
            data = (base + drift + rng.normal(0, 2e-4, (n, k))).astype(np.float32)
        out[spec.name] = (data, t)
    return out


def write_labkit(path: Path, data, minutes: float, **kw) -> float:
    specs = make_specs()
    rates = {s.name: s.nominal_rate_hz for s in specs}
    start = time.perf_counter()
    with SessionWriter(path, specs, flush_interval_s=FLUSH_S, **kw) as w:
        pos = dict.fromkeys(rates, 0)
        for k in range(round(minutes * 60 / CHUNK_S)):
            for name, rate in rates.items():
                end = min(round((k + 1) * CHUNK_S * rate), len(data[name][1]))
                w.append(name, data[name][0][pos[name]:end], data[name][1][pos[name]:end])
                pos[name] = end
    return time.perf_counter() - start


def write_h5py(path: Path, data, minutes: float, buffered: bool = False) -> float:
    """Plain h5py: resize + write per chunk, or (buffered) once per flush interval."""
    specs = make_specs()
    start = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = {}
        for s in specs:
            rows = int(np.ceil(s.nominal_rate_hz * FLUSH_S))
            g = f.create_group(s.name)
            ds[s.name] = (
                g.create_dataset("data", (0, len(s.channels)), maxshape=(None, len(s.channels)),
                                 chunks=(rows, len(s.channels)), dtype=np.dtype(s.dtype)),
                g.create_dataset("time_stamps", (0,), maxshape=(None,), chunks=(rows,), dtype="f8"),
            )
        pos = {s.name: 0 for s in specs}
        written = {s.name: 0 for s in specs}
        pending = {s.name: ([], []) for s in specs}
        last_flush = time.monotonic()
        n_chunks = round(minutes * 60 / CHUNK_S)
        for k in range(n_chunks):
            for s in specs:
                end = min(round((k + 1) * CHUNK_S * s.nominal_rate_hz), len(data[s.name][1]))
                pending[s.name][0].append(data[s.name][0][pos[s.name]:end])
                pending[s.name][1].append(data[s.name][1][pos[s.name]:end])
                pos[s.name] = end
            flush_now = time.monotonic() - last_flush >= FLUSH_S or k == n_chunks - 1
            for s in specs:
                if buffered and not flush_now:
                    continue
                rows, stamps = (np.concatenate(x) for x in pending[s.name])
                pending[s.name] = ([], [])
                a, b = written[s.name], written[s.name] + len(stamps)
                d, t = ds[s.name]
                d.resize(b, axis=0)
                d[a:b] = rows
                t.resize(b, axis=0)
                t[a:b] = stamps
                written[s.name] = b
            if flush_now:
                f.flush()
                last_flush = time.monotonic()
    return time.perf_counter() - start


def read_labkit(path: Path) -> float:
    start = time.perf_counter()
    with labkit.open_session(path) as s:
        frames = [s.stream(name).to_dataframe() for name in s.streams]
    elapsed = time.perf_counter() - start
    assert sum(len(f) for f in frames) > 0
    return elapsed


def read_h5py(path: Path, labkit_layout: bool) -> float:
    start = time.perf_counter()
    with h5py.File(path, "r") as f:
        prefix = "streams/" if labkit_layout else ""
        names = list(f["streams"] if labkit_layout else f)
        arrays = [(f[f"{prefix}{n}/data"][()], f[f"{prefix}{n}/time_stamps"][()]) for n in names]
    elapsed = time.perf_counter() - start
    assert arrays
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = make_data(args.minutes)
    raw_bytes = sum(d.nbytes + t.nbytes for d, t in data.values())
    print(f"data: {args.minutes:g} min, {raw_bytes / 1e6:.1f} MB raw "
          f"({', '.join(f'{k} {v[0].shape}' for k, v in data.items())})")
    tmp = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    variants = {
        "h5py plain": lambda p: write_h5py(p, data, args.minutes),
        "h5py plain, buffered 1 s": lambda p: write_h5py(p, data, args.minutes, buffered=True),
        "labkit (fsync off)": lambda p: write_labkit(p, data, args.minutes, fsync=False),
        "labkit (default, fsync on)": lambda p: write_labkit(p, data, args.minutes),
        "labkit lzf": lambda p: write_labkit(p, data, args.minutes, fsync=False,
                                             compression="lzf"),
        "labkit gzip": lambda p: write_labkit(p, data, args.minutes, fsync=False,
                                              compression="gzip"),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    sizes: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, fn in variants.items():  # interleaved, so machine noise hits all alike
            path = tmp / f"{name.replace(' ', '_').replace(',', '')}.h5"
            path.unlink(missing_ok=True)
            times[name].append(fn(path))
            sizes[name] = path.stat().st_size
    base = statistics.median(times["h5py plain"])
    print(f"\nWRITE (median of {args.repeats} runs)")
    print(f"{'variant':30s} {'seconds':>8s} {'ratio':>7s} {'MB':>8s} {'size/raw':>9s}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:30s} {med:8.3f} {med / base:7.2f} {sizes[name] / 1e6:8.1f} "
              f"{sizes[name] / raw_bytes:9.3f}")
    lk = tmp / "labkit_(fsync_off).h5"
    plain = tmp / "h5py_plain.h5"
    r_lab, r_h5 = [], []
    for _ in range(args.repeats):
        os.sync()
        r_h5.append(read_h5py(lk, labkit_layout=True))
        r_lab.append(read_labkit(lk))
    read_h5py(plain, labkit_layout=False)
    med_lab, med_h5 = statistics.median(r_lab), statistics.median(r_h5)
    print(f"\nREAD all streams (median of {args.repeats} runs, warm page cache)")
    print(f"{'h5py plain reads':30s} {med_h5:8.3f} s")
    print(f"{'labkit to_dataframe (+sync)':30s} {med_lab:8.3f} s  ratio {med_lab / med_h5:.2f}")
    buffered = statistics.median(times["h5py plain, buffered 1 s"])
    lab_off = statistics.median(times["labkit (fsync off)"])
    print(f"\nvs buffered h5py (the cost of crash safety): {lab_off / buffered:.2f}x (fsync off)")
    print(f"summary: write ratio {statistics.median(times['labkit (fsync off)']) / base:.2f}x "
          f"(fsync off), {statistics.median(times['labkit (default, fsync on)']) / base:.2f}x "
          f"(fsync on), target <= 1.3x; read ratio {med_lab / med_h5:.2f}x, target <= 1.5x")
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
