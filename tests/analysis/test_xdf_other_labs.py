"""XDF files as other labs' tools write them: stamps on another clock than the clock offsets,
channels described by ``<name>``, footers whose sample count differs from the samples.

Each file is constructed with ``tests/analysis/xdf_writer.py`` to have the property of the
real-world case its test cites.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pyxdf = pytest.importorskip("pyxdf")

import labkit  # noqa: E402
from labkit.analysis.xdf import import_xdf  # noqa: E402
from labkit.errors import LabkitWarning  # noqa: E402
from labkit.session.inspect import inspect_session  # noqa: E402
from tests.analysis.xdf_writer import XdfWriter, stream_footer_xml, stream_header_xml  # noqa: E402

LSL_T0 = 71_360.0  # the LSL clock (seconds since boot) when the recording starts
UNIX_T0 = 1_688_462_154.0  # the same moment in Unix time
DURATION_S = 30.0


def _import(xdf, out):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = import_xdf(xdf, out)
    return path, [str(w.message) for w in caught if issubclass(w.category, LabkitWarning)]


def _write_unix_stamped_device(path, rng):
    """One headset, two streams stamped in Unix time (EEG 256 Hz, accelerometer 52 Hz), their
    clock offsets measured by LabRecorder on the LSL clock (a few us, drifting differently as
    real measurements do), beside a force plate stamped on the LSL clock."""
    truth = {}
    with XdfWriter(path) as w:
        for sid, name, rate, nch, drift in ((1, "Muse EEG", 256.0, 4, 3e-6), (2, "Muse ACC", 52.0, 3, -2e-6)):
            k = np.arange(int(DURATION_S * rate))
            t_true = k / rate  # seconds since the start
            stamps = UNIX_T0 + t_true + rng.normal(0, 0.2e-3, len(k))
            values = rng.normal(0, 1, (len(k), nch)).astype(np.float32)
            w.stream_header(sid, stream_header_xml(name, "EEG" if nch == 4 else "Accelerometer", "float32",
                                                   f"{rate:g}", nch, source_id=f"muse-{sid}"))
            step = int(rate)
            for a in range(0, len(k), step):
                w.samples(sid, stamps[a:a + step], values[a:a + step])
            offsets = []
            for ct in np.arange(0.0, DURATION_S, 5.0):
                value = -4e-6 + drift * ct + rng.normal(0, 2e-6)  # the LSL clocks agree (one host)
                offsets.append((LSL_T0 + ct - value, value))
                w.clock_offset(sid, *offsets[-1])
            w.stream_footer(sid, stream_footer_xml(stamps[0], stamps[-1], len(k), offsets))
            truth[name] = (t_true, stamps, values)
        # a force plate on the LSL clock, 0.5 s behind the recorder, with its offsets
        t_true = np.arange(int(DURATION_S * 1000)) / 1000.0
        stamps = LSL_T0 - 0.5 + t_true
        w.stream_header(3, stream_header_xml("FP", "Force", "double64", "1000", 1, source_id="fp"))
        w.samples(3, stamps, t_true[:, None])
        offsets = [(LSL_T0 - 0.5 + ct, 0.5) for ct in np.arange(0.0, DURATION_S, 5.0)]
        for o in offsets:
            w.clock_offset(3, *o)
        w.stream_footer(3, stream_footer_xml(stamps[0], stamps[-1], len(t_true), offsets))
        truth["FP"] = (t_true, stamps, None)
    return truth


def test_unix_stamps_with_lsl_clock_offsets_keep_their_own_clock(tmp_path):
    """Item 1. muse-lsl (issue #196, alexandrebarachant/muse-lsl) stamps its Muse streams with
    ``time.time()`` (~1.69e9 s) while LabRecorder measures their clock offsets on the LSL
    clock (~7.1e4 s): the fitted drift line, extrapolated across 1.7e9 s, moved each stream
    of the headset by a different number of minutes (pyxdf does the same). labkit keeps them
    on their own clock, aligned with each other, says so once on import and in inspect."""
    xdf = tmp_path / "muse.xdf"
    truth = _write_unix_stamped_device(xdf, np.random.default_rng(3))

    # the property of the file: pyxdf's synchronisation moves the two streams by minutes
    streams, _ = pyxdf.load_xdf(xdf)
    by_name = {s["info"]["name"][0]: s for s in streams}
    shift = {n: float(np.median(by_name[n]["time_stamps"] - truth[n][1])) for n in ("Muse EEG", "Muse ACC")}
    print(f"\npyxdf moves Muse EEG by {shift['Muse EEG']:.1f} s and Muse ACC by {shift['Muse ACC']:.1f} s")
    assert abs(shift["Muse EEG"] - shift["Muse ACC"]) > 60.0

    out, messages = _import(xdf, tmp_path / "muse.h5")
    assert len(messages) == 1, messages
    assert "stream Muse_EEG:" in messages[0] and "stream Muse_ACC:" in messages[0]
    assert "another clock" in messages[0] and "FP" not in messages[0]
    with labkit.open_session(out) as s:
        eeg, acc, fp = s.stream("Muse_EEG"), s.stream("Muse_ACC"), s.stream("FP")
        assert eeg.foreign_clock_gap_s > 1e9 and fp.foreign_clock_gap_s == 0.0
        # own clock: the dejittered Unix stamps, not moved by the offsets
        for st, name in ((eeg, "Muse EEG"), (acc, "Muse ACC")):
            err = st.times - (UNIX_T0 + truth[name][0])
            print(f"{name}: times - true Unix time: RMS {np.sqrt(np.mean(err**2)) * 1e6:.1f} us")
            assert np.max(np.abs(err)) < 1e-3
        # the two streams of the headset stay aligned: at the same true instants (every
        # 0.25 s, where both have a sample) their times agree to well under a sample
        both = np.arange(0.0, DURATION_S, 0.25)
        eeg_at = eeg.times[np.rint(both * 256).astype(int)]
        acc_at = acc.times[np.rint(both * 52).astype(int)]
        misalign = np.max(np.abs(eeg_at - acc_at))
        print(f"EEG - ACC misalignment at common instants: max {misalign * 1e6:.1f} us")
        assert misalign < 1e-3
        # the LSL-stamped plate is still synchronised with its offsets
        np.testing.assert_allclose(fp.times, LSL_T0 + truth["FP"][0], atol=1e-6)
    report = inspect_session(out)
    lines = [p for p in report["problems"] if "another clock" in p]
    assert len(lines) == 2 and lines[0].startswith("stream Muse_ACC: its time stamps (near 1.68846e+09 s)")


def test_channels_described_by_name(tmp_path):
    """Item 5. LSL's C++ example apps (sccn/lsl_archived PR #40) and apps built on them
    describe channels with ``<name>`` rather than the XDF meta-data's ``<label>``; the
    channels kept only ch0, ch1, ... ``<name>`` now labels them (``<label>`` wins when both
    are there, the name staying a column)."""
    xdf = tmp_path / "names.xdf"
    chans = [{"name": "C3", "unit": "microvolts", "type": "EEG"}, {"name": "C4", "unit": "microvolts"},
             {"label": "Cz", "name": "vertex"}]
    with XdfWriter(xdf) as w:
        w.stream_header(1, stream_header_xml("EEG", "EEG", "float32", "100", chans, source_id="eeg"))
        w.samples(1, 10.0 + np.arange(5) / 100.0, np.zeros((5, 3)))
        w.stream_footer(1, stream_footer_xml(10.0, 10.04, 5))
    out, messages = _import(xdf, tmp_path / "names.h5")
    assert messages == []
    with labkit.open_session(out) as s:
        ch = s.stream("EEG").channels
    assert list(ch["label"]) == ["C3", "C4", "Cz"]
    assert list(ch["unit"]) == ["microvolts", "microvolts", ""]
    assert list(ch["name"]) == ["", "", "vertex"]


def _write_footer_cases(path):
    """Stream 1: one sample beyond the footer's count and a garbage last clock offset (an
    outlet destroyed while the inlet was connected); stream 2: the footer counts 3 samples
    fewer than arrived, offsets normal (LabRecorder wrote the footer early)."""
    with XdfWriter(path) as w:
        for sid in (1, 2):
            header = stream_header_xml(f"s{sid}", "EEG", "float32", "100", 1, source_id=f"s{sid}")
            w.stream_header(sid, header)
            stamps = 100.0 + np.arange(1001) / 100.0
            w.samples(sid, stamps, np.arange(1001, dtype=np.float32)[:, None])
            offsets = [(100.0 + 5.0 * k, 1e-3 + 1e-6 * k) for k in range(3)]
            if sid == 1:
                offsets.append((1e-300, 3.4e38))  # liblsl#246: the destroyed outlet's offset
            for o in offsets:
                w.clock_offset(sid, *o)
            w.stream_footer(sid, stream_footer_xml(stamps[0], stamps[-1], 1000 if sid == 1 else 998, offsets))


def test_footer_sample_count_is_honoured_as_pyxdf_does(tmp_path):
    """Item 5. pylsl#67 / liblsl#246: destroying an outlet while LabRecorder's inlet is
    connected records one extra sample and a garbage last clock offset; pyxdf drops both
    when the footer's sample_count shows the extra sample. labkit does the same, and when
    the count differs otherwise (footer written before the last samples arrived) keeps
    every sample and reports the difference."""
    xdf = tmp_path / "footer.xdf"
    _write_footer_cases(xdf)
    peer, _ = pyxdf.load_xdf(xdf)
    peer_n = {s["info"]["name"][0]: len(s["time_stamps"]) for s in peer}
    out, messages = _import(xdf, tmp_path / "footer.h5")
    assert len(messages) == 1, messages
    assert "stream s1: 1 samples beyond the footer's sample_count 1000" in messages[0]
    assert "stream s2: the footer's sample_count is 998 but the file holds 1001 samples" in messages[0]
    with labkit.open_session(out) as s:
        s1, s2 = s.stream("s1"), s.stream("s2")
        assert (s1.n_samples, s2.n_samples) == (peer_n["s1"], peer_n["s2"]) == (1000, 1001)
        assert len(s1.clock_offsets) == 3 and len(s2.clock_offsets) == 3
        np.testing.assert_array_equal(s1.data[:, 0], np.arange(1000))
        np.testing.assert_allclose(s1.times, 100.0 + np.arange(1000) / 100.0 + 1e-3, atol=1e-5)
