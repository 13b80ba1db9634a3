"""What the screens show and what the operator asks for, shared between the run's thread and
the web server's event loop (a lock, no asyncio on the run's side)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

#: what the console's buttons send
ACTIONS = ("continue", "redo", "skip", "pause", "resume", "abort")


class LiveHub:
    """The live state of a run (phase, cue, countdown, trials, messages) and the operator's
    pending requests.

    The run's thread writes with :meth:`update`, :meth:`add_message` and :meth:`add_trial`
    and takes requests with :meth:`take`; the server reads :meth:`snapshot` (a copy) and
    adds requests with :meth:`request`. :attr:`version` grows with every change, so the
    server sends a state frame only when something changed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._state: dict[str, Any] = {"phase": "idle", "cue": "", "countdown": None, "trial": None,
                                       "rest_until": None, "rest_text": "", "paused": False,
                                       "waiting": False, "status": "idle", "error": ""}
        self._messages: deque[str] = deque(maxlen=50)
        self._trials: list[dict[str, Any]] = []
        self._requests: set[str] = set()
        self.version = 0

    # -- the run's side ------------------------------------------------------------------
    def update(self, **changes: Any) -> None:
        with self._lock:
            self._state.update(changes)
            self.version += 1

    def add_message(self, text: str) -> None:
        with self._lock:
            self._messages.append(text)
            self.version += 1

    def add_trial(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._trials = [t for t in self._trials if t["id"] != row["id"]] + [row]
            self.version += 1

    def take(self, action: str) -> bool:
        """True (once) if ``action`` was requested since it was last taken."""
        with self._lock:
            if action in self._requests:
                self._requests.discard(action)
                return True
            return False

    def pending(self, action: str) -> bool:
        with self._lock:
            return action in self._requests

    def wait_for(self, actions: tuple[str, ...], timeout_s: float) -> str | None:
        """Block up to ``timeout_s`` until one of ``actions`` is requested; take and return it."""
        end = time.monotonic() + timeout_s
        with self._wake:
            while True:
                for a in actions:
                    if a in self._requests:
                        self._requests.discard(a)
                        return a
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._wake.wait(left)

    def reset(self) -> None:
        """A new run: no trials, no messages, no stale requests."""
        with self._lock:
            self._trials, self._requests = [], set()
            self._messages.clear()
            self.version += 1

    # -- the server's side ---------------------------------------------------------------
    def request(self, action: str) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; use one of {list(ACTIONS)}")
        with self._wake:
            if action == "resume":
                self._requests.discard("pause")
            # a resume while not paused only cancels a pending pause: kept, it would end the
            # next pause at once
            if action != "resume" or self._state.get("paused"):
                self._requests.add(action)
            self.version += 1
            self._wake.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            state = dict(self._state)
            state["messages"] = list(self._messages)[-8:]
            state["trials"] = [dict(t) for t in self._trials]
            state["requests"] = sorted(self._requests)
            state["version"] = self.version
        until = state.pop("rest_until")
        state["rest_left_s"] = None if until is None else max(0.0, until - time.monotonic())
        return state
