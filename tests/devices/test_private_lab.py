"""`labkit run`'s simulated lab is private: its LSL configuration is in force before anything
loads liblsl, so a lab on this machine in liblsl's default session (another program, another
run) is never seen. Importing the lab first would configure liblsl with the default session
(labkit.lsl.streams quiets liblsl's log at import), which the second case shows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PUBLISH = """
import time, pylsl
import labkit.lsl.streams  # liblsl's default session, as any LSL program on the machine
info = pylsl.StreamInfo("foreign_cues", "Markers", 1, 0, "string", "foreign-cues-{tag}")
out = pylsl.StreamOutlet(info)
print("ready", flush=True)
time.sleep(12)
"""

RESOLVE = {
    "as labkit run does": """
from labkit.config.hardware import load_hardware_config
from labkit.devices.sim.private import private_lab_config
private_lab_config(*load_hardware_config())
from labkit.devices.sim.lab import SimulatedLab  # noqa: F401
""",
    "lab imported first": """
from labkit.devices.sim.lab import SimulatedLab  # noqa: F401
from labkit.config.hardware import load_hardware_config
from labkit.devices.sim.private import private_lab_config
private_lab_config(*load_hardware_config())
""",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["PYTHONPATH"] = str(REPO)
    return env


def _sees_foreign(setup: str, tag: str) -> bool:
    code = setup + textwrap.dedent(f"""
        import pylsl
        ids = [s.source_id() for s in pylsl.resolve_streams(3.0)]
        print("SEEN" if "foreign-cues-{tag}" in ids else "NOT SEEN")
        """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=_env(), cwd=REPO)
    assert run.returncode == 0, run.stderr
    return "NOT SEEN" not in run.stdout


def test_the_run_lab_does_not_see_streams_of_the_default_session(tmp_path):
    tag = os.urandom(4).hex()
    pub = subprocess.Popen([sys.executable, "-c", PUBLISH.format(tag=tag)], stdout=subprocess.PIPE,
                           text=True, env=_env(), cwd=REPO)
    try:
        assert pub.stdout.readline().strip() == "ready"
        assert not _sees_foreign(RESOLVE["as labkit run does"], tag)
        assert _sees_foreign(RESOLVE["lab imported first"], tag)  # the order matters
    finally:
        pub.kill()
        pub.wait()
