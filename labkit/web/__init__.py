"""The lab screen: a web console for the technician, a big-number screen for the athlete, and
remote control (HTTP/JSON + WebSocket, and LabRecorder's TCP remote-control port).

Above :mod:`labkit.protocol` and :mod:`labkit.record`, below :mod:`labkit.cli`: the web
server runs beside the recorder and reads its live buffers; it is never in the data's path.
Needs the ``web`` extra (Starlette, uvicorn, websockets); nothing here is imported by
``import labkit``.
"""
