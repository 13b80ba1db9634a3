"""Property tests: arbitrary channel tables, shapes and dtypes survive a round trip."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import labkit
from labkit.session.writer import ChannelSpec, SessionWriter, StreamSpec

DTYPES = ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64"]
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=20)


@st.composite
def streams(draw):
    n_channels = draw(st.integers(1, 8))
    labels = draw(st.lists(text.filter(bool), min_size=n_channels, max_size=n_channels,
                           unique=True))
    extra_keys = draw(st.lists(st.sampled_from(["plate", "component", "marker", "axis"]),
                               unique=True, max_size=2))
    channels = [ChannelSpec(label, draw(text), draw(text), draw(text), draw(text), draw(text),
                            extra={k: draw(text) for k in extra_keys}) for label in labels]
    dtype = draw(st.sampled_from(DTYPES))
    rate = draw(st.one_of(st.just(0.0), st.floats(1.0, 10000.0)))
    chunks = draw(st.lists(arrays(dtype, st.tuples(st.integers(0, 40), st.just(n_channels))),
                           max_size=4))
    return StreamSpec("s", "emg", channels, rate, dtype), chunks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.sampled_from([None, "gzip"]))
def test_round_trip(stream, compression):
    spec, chunks = stream
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.h5"
        n = 0
        with SessionWriter(path, [spec], compression=compression, fsync=False,
                           flush_interval_s=0.001) as w:
            for chunk in chunks:
                w.append("s", chunk, np.arange(n, n + len(chunk)) * 0.5)
                n += len(chunk)
        expected = (np.concatenate(chunks) if chunks
                    else np.zeros((0, len(spec.channels)), spec.dtype))
        with labkit.open_session(path) as s:
            st_ = s.stream("s")
            assert st_.data.dtype == np.dtype(spec.dtype)
            np.testing.assert_array_equal(st_.data, expected)
            np.testing.assert_array_equal(st_.raw_times, np.arange(n) * 0.5)
            assert st_.rate_hz == spec.nominal_rate_hz
            table = st_.channels
            for c, (_, row) in zip(spec.channels, table.iterrows(), strict=True):
                assert row.to_dict() == {**c.as_row(), **{k: row[k] for k in row.index
                                                          if k not in c.as_row()}}
                assert all(row[k] == "" for k in row.index if k not in c.as_row())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False), text, text, text),
                max_size=30))
def test_events_round_trip(events):
    spec = StreamSpec("s", "markers", [ChannelSpec("m")], 0.0, "string")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e.h5"
        with SessionWriter(path, [spec], fsync=False) as w:
            for t, label, value, source in events:
                w.add_event(t, label, value, source)
            w.append("s", [[e[1]] for e in events], [e[0] for e in events])
        with labkit.open_session(path) as s:
            ev = s.events
            assert ev["time"].tolist() == [e[0] for e in events]
            assert ev["label"].tolist() == [e[1] for e in events]
            assert ev["value"].tolist() == [e[2] for e in events]
            assert ev["source"].tolist() == [e[3] for e in events]
            assert s.stream("s").data[:, 0].tolist() == [e[1] for e in events]
