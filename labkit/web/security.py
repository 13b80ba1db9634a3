"""Who may use the lab's web server: loopback by default, a token on any other address, no
cross-site use (see docs/remote.md for the threat model)."""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from labkit.errors import ConfigError

__all__ = ["COOKIE", "Guard", "check_bind", "is_loopback", "new_token"]

COOKIE = "labkit_token"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random token (32 url-safe characters)."""
    return secrets.token_urlsafe(24)


def check_bind(host: str, token: str | None, *, flag: str = "--host") -> None:
    """Refuse to serve on a non-loopback address without a token.

    Raises
    ------
    ConfigError
        One line naming the address and the fix.
    """
    if not is_loopback(host) and not token:
        raise ConfigError(f"{flag} {host} is not a loopback address: anyone on the network could "
                          "drive the lab; pass --token TOKEN (or --token generate) to require a token, "
                          "or bind to 127.0.0.1")
    if token is not None and len(token) < 16:
        raise ConfigError(f"--token is {len(token)} characters long; use at least 16 (or --token generate)")


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class Guard:
    """ASGI middleware in front of every route (pages, API, WebSocket).

    - Without a token (loopback only): the ``Host`` header must name a loopback address
      (a DNS-rebinding page cannot reach the server through its own name).
    - With a token: every request carries it (``Authorization: Bearer``, ``?token=`` or the
      cookie set when a page is opened with ``?token=``); missing gives 401, wrong 403.
    - A request or WebSocket from another origin (``Origin`` not this server) gets 403;
      no CORS header is ever sent, so other sites' scripts cannot read the API.
    - A POST must be ``application/json`` (a cross-site form cannot send that without a
      preflight, which is refused).
    """

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        status, why, given = self._check(scope, headers)
        if status:
            await self._refuse(scope, receive, send, status, why)
            return
        if given and scope["type"] == "http" and self.token:
            send = self._with_cookie(send)
        await self.app(scope, receive, send)

    def _check(self, scope: dict[str, Any], headers: dict[str, str]) -> tuple[int, str, bool]:
        host = headers.get("host", "")
        hostname = urlsplit(f"//{host}").hostname or ""
        if not self.token and not is_loopback(hostname):
            return 403, f"host {host!r} is not this loopback server", False
        origin = headers.get("origin")
        # "null" is a sandboxed iframe's or a file:// page's origin: foreign too (a WebSocket
        # is not covered by CORS, so any web page could otherwise read the live screens)
        if origin and (origin == "null" or urlsplit(origin).netloc != host):
            return 403, f"requests from {origin} are not allowed (other origin)", False
        if (scope["type"] == "http" and scope.get("method") == "POST"
                and not headers.get("content-type", "").startswith("application/json")):
            return 415, "send JSON (Content-Type: application/json)", False
        if not self.token:
            return 0, "", False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        offered = None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            offered = auth[7:].strip()
        elif query.get("token"):
            offered = query["token"][0]
        elif "cookie" in headers:
            jar = SimpleCookie()
            jar.load(headers["cookie"])
            if COOKIE in jar:
                offered = jar[COOKIE].value
        if offered is None:
            return 401, "a token is required (Authorization: Bearer TOKEN or ?token=TOKEN)", False
        if not hmac.compare_digest(offered.encode(), self.token.encode()):
            return 403, "wrong token", False
        return 0, "", bool(query.get("token"))

    def _with_cookie(self, send: Any) -> Any:
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return wrapped

    @staticmethod
    async def _refuse(scope: dict[str, Any], receive: Any, send: Any, status: int, why: str) -> None:
        body = json.dumps({"error": why}).encode()
        if scope["type"] == "websocket":
            # refuse the handshake with an HTTP status (the ASGI denial-response extension)
            if "websocket.http.response" in scope.get("extensions", {}):
                await send({"type": "websocket.http.response.start", "status": status,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "websocket.http.response.body", "body": body})
            else:
                await send({"type": "websocket.close", "code": 4000 + status})
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
