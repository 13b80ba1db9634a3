"""Who may drive the lab: loopback by default, a token on any other address, no cross-site
use. Real servers on 127.0.0.1, real HTTP and WebSocket clients."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import InvalidStatus

from labkit.errors import ConfigError
from labkit.web.security import check_bind
from tests.web.servers import protocol_server

TOKEN = "t" * 8 + "0123456789abcdef"


def test_a_non_loopback_address_without_a_token_is_refused_in_one_line():
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(ConfigError, match=f"--host {host} is not a loopback address"):
            check_bind(host, None)
    check_bind("0.0.0.0", TOKEN)  # with a token it may
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    with pytest.raises(ConfigError, match="use at least 16"):
        check_bind("0.0.0.0", "short")
    cli = subprocess.run([sys.executable, "-m", "labkit.cli", "serve", "--host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2
    lines = cli.stderr.strip().splitlines()
    assert len(lines) == 1, cli.stderr
    assert lines[0].startswith("labkit: error: --host 0.0.0.0 is not a loopback address")
    assert "--token" in lines[0]
    cli = subprocess.run([sys.executable, "-m", "labkit.cli", "run", "imtp", "--web", "--host", "10.1.2.3"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2 and cli.stderr.count("\n") == 1, cli.stderr
    assert cli.stderr.startswith("labkit: error: --host 10.1.2.3 is not a loopback address")


def test_wrong_or_missing_token_gets_401_or_403_and_changes_nothing(tmp_path):
    with protocol_server(tmp_path, token=TOKEN) as (server, run):
        base = server.url.rstrip("/")
        good = {"Authorization": f"Bearer {TOKEN}"}
        bad = {"Authorization": "Bearer " + "x" * 24}
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/api/status").status_code == 401
            assert http.get("/api/status", headers=bad).status_code == 403
            assert http.get("/", params={"token": "nope"}).status_code == 403
            assert http.get("/static/live.js").status_code == 401
            for headers, code in (({}, 401), (bad, 403)):
                r = http.post("/api/run", json={"subject": {"athlete": "X1"}}, headers=headers)
                assert r.status_code == code
                r = http.post("/api/control", json={"action": "abort"}, headers=headers)
                assert r.status_code == code
            assert run.runner is None and not run.running  # nothing started
            assert run.hub.snapshot()["requests"] == []  # nothing asked
            assert list(tmp_path.iterdir()) == []  # no file written
            ok = http.get("/api/status", headers=good)
            assert ok.status_code == 200 and ok.json()["protocol"]["name"] == "imtp"
            # a page opened with ?token= sets a same-site cookie for its scripts and WebSocket
            page = http.get("/", params={"token": TOKEN})
            assert page.status_code == 200 and "SameSite=Strict" in page.headers["set-cookie"]
            assert "access-control-allow-origin" not in {k.lower() for k in page.headers}
        ws_url = f"ws://127.0.0.1:{server.port}/ws"
        for extra in ({}, bad):
            with pytest.raises(InvalidStatus) as info:
                ws_client.connect(ws_url, additional_headers=extra, open_timeout=10)
            assert info.value.response.status_code in (401, 403)
        with ws_client.connect(ws_url, additional_headers=good, open_timeout=10) as ws:
            assert '"type": "state"' in ws.recv(timeout=10)


def test_no_cross_site_use_of_a_loopback_server(tmp_path):
    with protocol_server(tmp_path) as (server, run):
        base = server.url.rstrip("/")
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/api/status").status_code == 200  # loopback, no token: the lab's own machine
            # another site's page in the technician's browser
            evil = {"Origin": "http://evil.example"}
            r = http.post("/api/control", json={"action": "abort"}, headers=evil)
            assert r.status_code == 403
            assert "access-control-allow-origin" not in {k.lower() for k in r.headers}
            # a form post (no preflight) is not JSON: refused
            r = http.post("/api/run", content="subject=x", headers={"Content-Type": "text/plain"})
            assert r.status_code == 415
            # DNS rebinding: the browser names another host
            assert http.get("/api/status", headers={"Host": f"evil.example:{server.port}"}).status_code == 403
            assert run.runner is None and run.hub.snapshot()["requests"] == []
        # a WebSocket is not covered by CORS: another site's page (or a sandboxed iframe of
        # one, whose origin is "null") must not read the live screens
        for origin in ("http://evil.example", "null"):
            with pytest.raises(InvalidStatus) as info:
                ws_client.connect(f"ws://127.0.0.1:{server.port}/ws", origin=origin, open_timeout=10)
            assert info.value.response.status_code == 403, origin
