"""Import XDF files (LabRecorder, Lab Streaming Layer) into labkit sessions.

An XDF file holds what LabRecorder received: per stream an XML header, the samples with
their raw time stamps on the **sender's** clock, clock-offset measurements and an XML
footer. :func:`import_xdf` turns it into an ordinary labkit session (``status complete``)
so that it is analysed like any recording of labkit's own:

* one session stream per XDF stream, named after the LSL stream name (unsafe characters
  become ``_``; repeated names get ``-2``, ``-3``, ... as the recorder does), with the
  channel table from ``<desc><channels>`` (``label``, ``unit``, ``type``, ``muscle``, ``side``,
  ... as written; a channel described by ``<name>`` instead of ``<label>`` is labelled by
  it; ``ch0``, ``ch1``, ... and empty units when absent), the stream type
  (lower-cased when it is one labkit knows, e.g. ``Markers`` -> ``markers``), the nominal
  rate parsed from the header's text (0 -> irregular), and the samples in their XDF format
  (int8/16/32/64, float32, float64 from ``double64``, or strings);
* the **raw** time stamps as the file has them (read with pyxdf without clock
  synchronisation or dejittering);
* every ClockOffset chunk as a row of the stream's ``clock_offsets`` table, so labkit's own
  synchronisation (``Stream.times``) applies them when reading. XDF stores
  ``(collection time on the sender's clock, offset = recorder - sender clock)``; labkit
  stores the collection time on the recorder's (session) clock, so it is
  ``xdf collection time + offset``; XDF has no round-trip time (``rtt`` is NaN unless the
  footer's copy of the offsets carries labkit's ``<rtt>``, as labkit's export writes it);
* the footer's ``sample_count`` honoured as pyxdf honours it: samples beyond it are dropped
  with the last clock offset when that offset is anomalous (liblsl#246); any other
  difference keeps every sample and is reported in the one import warning;
* streams stamped on another clock than their clock offsets (muse-lsl's Unix-time stamps
  with offsets measured on the LSL clock) keep their own clock
  (:func:`labkit.signal.sync.foreign_clock_gap_s`), named in the import warning and by
  ``labkit inspect``;
* string streams of type ``Markers`` are mirrored into ``/events`` (as the recorder mirrors
  LSL marker streams) at their synchronised times, channel 0's text as the label (text
  longer than 128 bytes: label ``marker`` and the first 1000 bytes as the value), the stream
  name as the source; the string stream itself keeps the full text;
* nothing of the XDF metadata is lost: the root attribute ``xdf_file_header`` and the
  stream attributes ``xdf_header`` / ``xdf_footer`` hold the exact XML text, ``xdf_stream_id``
  the stream id; ``source_format`` (``xdf``), ``source_file``, ``import_method`` and
  ``import_params`` (JSON) record where the session came from. Units are kept as written
  (XDF files of other labs may say ``microvolts``; labkit does not convert).

Before pyxdf reads anything, one pass over the chunk framing checks that the file is an
XDF file and is whole, so a truncated or damaged file is refused with one line naming the
file and the problem (``allow_truncated=True`` imports the complete chunks before it).
pyxdf is an optional extra, imported only when :func:`import_xdf` runs.

:func:`export_xdf` writes a session back as an XDF file (``labkit export SESSION -o FILE.xdf``).
"""

from labkit.analysis.xdf.export import export_xdf
from labkit.analysis.xdf.importing import import_xdf

__all__ = ["export_xdf", "import_xdf"]
