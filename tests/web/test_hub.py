"""The requests the console sends to a run: a Resume clicked while the run is not paused
must not end the next pause at once (it did: the stale request was taken by the pause)."""

from __future__ import annotations

import threading
import time

from labkit.web.hub import LiveHub


def test_a_resume_while_not_paused_does_not_end_the_next_pause():
    hub = LiveHub()
    hub.request("resume")  # clicked while running: nothing to resume
    assert hub.snapshot()["requests"] == []
    hub.request("pause")
    hub.request("resume")  # cancels the pause not yet applied
    assert hub.snapshot()["requests"] == []
    hub.request("pause")
    assert hub.take("pause")
    hub.update(paused=True)  # the run is paused now: it waits for resume or abort
    assert hub.wait_for(("resume", "abort"), 0.3) is None  # nothing stale ends it
    threading.Timer(0.2, hub.request, args=("resume",)).start()
    t = time.monotonic()
    assert hub.wait_for(("resume", "abort"), 10.0) == "resume"
    assert time.monotonic() - t >= 0.15
