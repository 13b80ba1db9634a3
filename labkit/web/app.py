"""The lab's web app (Starlette): the technician console, the athlete screen, the session
browser, the HTTP/JSON control API and the WebSocket of live frames (docs/remote.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from labkit.errors import LabkitError
from labkit.web.control import RecordControl, RunControl
from labkit.web.security import Guard
from labkit.web.trace import TraceReader, emg_levels

log = logging.getLogger(__name__)

__all__ = ["FRAME_RATE_HZ", "LabApp", "create_app"]

FRAME_RATE_HZ = 40.0  # trace frames per second to every screen
STATE_EVERY_S = 0.25  # a state frame at least this often (countdowns, health)
CLIENT_QUEUE = 64  # frames a slow client may lag behind before its oldest are dropped
SEND_TIMEOUT_S = 10.0  # a client that takes no frame for this long is closed


def _static() -> Path:
    return Path(str(resources.files("labkit.web") / "static"))


class _Client:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=CLIENT_QUEUE)
        self.dropped = 0

    def offer(self, text: str) -> None:
        """Queue a frame; a client too slow to keep up loses its oldest frames, never the
        server's time."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(text)


class LabApp:
    """The state behind the routes: the run (optional), the recording (optional), the
    session folder, and the WebSocket clients fed by one broadcaster task."""

    def __init__(self, *, run: RunControl | None = None, record: RecordControl | None = None,
                 folder: Path | None = None, target_pct: float = 90.0) -> None:
        self.run, self.record = run, record
        self.folder = Path(folder) if folder is not None else (run.folder if run else Path.cwd())
        self.target_pct = float(target_pct)
        self.clients: set[_Client] = set()
        self._trace = TraceReader()
        self._task: asyncio.Task | None = None
        self.frames_sent = 0

    # -- live frames ---------------------------------------------------------------------
    def _force_buffer(self) -> Any:
        if self.run is not None and self.run.runner is not None and self.run.running:
            return self.run.runner.live.get("force")
        if self.record is not None and self.record.recording:
            return self.record.force_buffer
        return None

    def state(self) -> dict[str, Any]:
        import pylsl

        out: dict[str, Any] = {"type": "state", "target_pct": self.target_pct,
                               "clock_offset_s": time.time() - pylsl.local_clock()}
        if self.run is not None:
            out["run"] = self.run.status()
            runner = self.run.runner
            if runner is not None and self.run.running:
                out["emg"] = emg_levels(runner.live.get("emg"))
        if self.record is not None:
            out["record"] = self.record.status()
        return out

    async def broadcast(self) -> None:
        last_state, version = 0.0, -1
        period = 1.0 / FRAME_RATE_HZ
        while True:
            started = time.monotonic()
            try:
                if self.clients:
                    frame = self._trace.frame(self._force_buffer())
                    texts = [json.dumps(frame)] if frame is not None else []
                    hub_version = self.run.hub.version if self.run is not None else 0
                    if hub_version != version or started - last_state >= STATE_EVERY_S:
                        texts.append(json.dumps(self.state()))
                        last_state, version = started, hub_version
                    for client in list(self.clients):
                        for text in texts:
                            client.offer(text)
                    self.frames_sent += len(texts)
            except Exception:  # a bad frame must never stop the screens
                log.exception("live frame failed")
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))

    async def websocket(self, ws: WebSocket) -> None:
        await ws.accept()
        client = _Client(ws)
        self.clients.add(client)
        client.offer(json.dumps(self.state()))
        try:
            receiver = asyncio.ensure_future(self._receive(ws))
            while not receiver.done():
                text = await client.queue.get()
                await asyncio.wait_for(ws.send_text(text), SEND_TIMEOUT_S)
        except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self.clients.discard(client)
            receiver.cancel()
            with contextlib.suppress(Exception):
                await ws.close()

    @staticmethod
    async def _receive(ws: WebSocket) -> None:
        with contextlib.suppress(Exception):
            while True:
                await ws.receive_text()  # screens only listen; this notices a closed socket

    # -- pages and API -------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        name = {"/": "console.html", "/athlete": "athlete.html", "/sessions": "sessions.html"}[
            request.url.path]
        return FileResponse(_static() / name, media_type="text/html")

    async def status(self, request: Request) -> JSONResponse:
        state = await asyncio.to_thread(self.state)
        state["protocol"] = self.run.describe() if self.run is not None else None
        return JSONResponse(state)

    async def body(self, request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise LabkitError("the request body is not JSON; send e.g. {\"action\": \"continue\"}") from None
        if not isinstance(data, dict):
            raise LabkitError("the request body must be a JSON object")
        return data

    async def run_start(self, request: Request) -> JSONResponse:
        data = await self.body(request)
        path = await asyncio.to_thread(self._need_run().start, dict(data.get("subject", {})),
                                       out=str(data.get("out", "")))
        return JSONResponse({"file": str(path)})

    async def run_resume(self, request: Request) -> JSONResponse:
        data = await self.body(request)
        path = await asyncio.to_thread(self._need_run().resume, str(data.get("file", "")))
        return JSONResponse({"file": str(path)})

    async def control(self, request: Request) -> JSONResponse:
        data = await self.body(request)
        action = str(data.get("action", ""))
        try:
            self._need_run().request(action)
        except ValueError as exc:
            raise LabkitError(str(exc)) from None
        return JSONResponse({"ok": True, "action": action})

    def _need_run(self) -> RunControl:
        if self.run is None:
            raise LabkitError("this server runs no protocol; start it with `labkit serve --protocol NAME`")
        return self.run

    def _need_record(self) -> RecordControl:
        if self.record is None:
            raise LabkitError("this server has no recorder; start it with `labkit serve` (no --protocol)")
        return self.record

    async def record_action(self, request: Request) -> JSONResponse:
        rec = self._need_record()
        what = request.path_params["what"]
        data = await self.body(request)
        if what == "start":
            path = await asyncio.to_thread(rec.start)
            return JSONResponse({"file": str(path)})
        if what == "stop":
            path = await asyncio.to_thread(rec.stop)
            return JSONResponse({"file": str(path) if path else ""})
        # off the event loop: both wait for a start that holds the control's lock while its
        # streams resolve, and the screens must keep being served meanwhile
        if what == "select":
            chosen = await asyncio.to_thread(rec.select, data.get("streams", "all"))
            return JSONResponse({"selected": chosen})
        if what == "filename":
            try:
                path = await asyncio.to_thread(lambda: rec.set_filename(**data))
            except TypeError as exc:  # an unknown or ill-typed field: the JSON error, not a 500
                raise LabkitError(f"filename: {exc}; give root, template, run or a name field") from None
            return JSONResponse({"next_file": str(path)})
        raise LabkitError(f"unknown recording action {what!r}; use start, stop, select or filename")

    async def sessions(self, request: Request) -> JSONResponse:
        return JSONResponse({"folder": str(self.folder),
                             "sessions": await asyncio.to_thread(list_sessions, self.folder)})

    async def report(self, request: Request) -> Response:
        from labkit.analysis.report import write_report

        name = Path(request.path_params["name"]).name
        path = self.folder / name
        if path.suffix != ".h5" or not path.is_file():
            return JSONResponse({"error": f"no session {name!r} in {self.folder}"}, status_code=404)
        out = path.with_suffix(".report.html")

        def make() -> str:
            if not out.exists() or out.stat().st_mtime < path.stat().st_mtime:
                write_report(path, out)
            return out.read_text()

        return HTMLResponse(await asyncio.to_thread(make))


def list_sessions(folder: Path) -> list[dict[str, Any]]:
    """The session files of ``folder``: athlete, protocol, date and status (newest first)."""
    from labkit.session.reader import open_session

    rows = []
    for path in sorted(Path(folder).glob("*.h5"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            with open_session(path) as s:
                info = s.info
                rows.append({"file": path.name, "athlete": info.get("subject", ""),
                             "protocol": info.get("protocol", ""), "date": info.get("created_utc", ""),
                             "status": s.status})
        except Exception as exc:  # a file being written or not a session: listed, not opened
            rows.append({"file": path.name, "athlete": "", "protocol": "", "date": "",
                         "status": f"unreadable ({type(exc).__name__})"})
    return rows


def create_app(lab: LabApp, *, token: str | None = None) -> Any:
    """The ASGI app of ``lab`` behind the :class:`~labkit.web.security.Guard`."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        task = asyncio.create_task(lab.broadcast())
        try:
            yield
        finally:
            task.cancel()

    async def error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    routes = [
        Route("/", lab.page), Route("/athlete", lab.page), Route("/sessions", lab.page),
        Route("/api/status", lab.status),
        Route("/api/run", lab.run_start, methods=["POST"]),
        Route("/api/resume", lab.run_resume, methods=["POST"]),
        Route("/api/control", lab.control, methods=["POST"]),
        Route("/api/record/{what}", lab.record_action, methods=["POST"]),
        Route("/api/sessions", lab.sessions),
        Route("/report/{name}", lab.report),
        WebSocketRoute("/ws", lab.websocket),
        Mount("/static", StaticFiles(directory=_static()), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={LabkitError: error})
    return Guard(app, token)
