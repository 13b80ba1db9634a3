"""C3D files in and out of labkit sessions (Vicon, Qualisys, Motion Analysis, LabRecorder).

:func:`import_c3d` turns a C3D file into a normal labkit session (``open_session`` reads
it, ``status = complete``); :func:`export_c3d` writes a session as C3D. Both need the
optional extra ``ezc3d`` (``pip install "labkit[c3d]"``), imported only when called.

Modules: :mod:`~labkit.analysis.c3d.importer` (what a C3D file becomes: streams, events,
attributes, analog scaling), :mod:`~labkit.analysis.c3d.import_streams` (the steps that
build those streams), :mod:`~labkit.analysis.c3d.exporter` (what is written),
:mod:`~labkit.analysis.c3d.export_plan` (the C3D clock and rates),
:mod:`~labkit.analysis.c3d.plates` (FORCE_PLATFORM types 1-4 as loads on the plate, sign
convention) and :mod:`~labkit.analysis.c3d.parameters` (reading files and parameters with
ezc3d, units).
"""

from __future__ import annotations

from labkit.analysis.c3d.exporter import export_c3d
from labkit.analysis.c3d.importer import import_c3d

__all__ = ["export_c3d", "import_c3d"]
