"""The technician's terminal shows labkit's lines only: liblsl's "Stream transmission broke
off" at a clean end and the simulator's timing notes stay out of it (liblsl's log goes to a
file next to its configuration; the simulator logs at debug)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO


def _env_without_lsl_config(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["PYTHONPATH"] = str(REPO)
    env["HOME"] = str(tmp_path)  # no ~/lsl_api/lsl_api.cfg of the machine's user
    return env


def test_liblsl_errors_stay_off_stderr_unless_asked_for(tmp_path):
    """An inlet whose outlet disappears makes liblsl log an error ("transmission broke off"):
    the loopback configuration keeps it off stderr; LABKIT_LSL_LOG sends it to a file."""
    code = textwrap.dedent("""
        import sys, time, uuid
        from labkit.lsl.loopback import configure_loopback
        cfg = configure_loopback(f"quiet-{uuid.uuid4().hex}", sys.argv[1])
        import pylsl
        info = pylsl.StreamInfo("quiet_test", "markers", 1, 0, pylsl.cf_string, uuid.uuid4().hex)
        outlet = pylsl.StreamOutlet(info)
        found = pylsl.resolve_byprop("name", "quiet_test", timeout=5.0)
        inlet = pylsl.StreamInlet(found[0], recover=True)
        inlet.open_stream(timeout=5.0)
        outlet.push_sample(["x"])
        inlet.pull_sample(timeout=5.0)
        del outlet  # the outlet goes while the inlet still listens
        inlet.pull_sample(timeout=1.5)
        print("done")
    """)
    env = _env_without_lsl_config(tmp_path)
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         timeout=60, env=env, cwd=tmp_path, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "done", out.stderr
    assert out.stderr == ""
    env["LABKIT_LSL_LOG"] = str(tmp_path / "liblsl.log")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         timeout=60, env=env, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr
    assert "broke off" not in out.stderr
    assert "broke off" in (tmp_path / "liblsl.log").read_text()


def test_a_simulated_run_prints_no_liblsl_or_simulator_noise(tmp_path):
    """`labkit run` on the simulated lab, as a technician starts it (no LSLAPICFG)."""
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "run", "imtp", "--athlete", "QUIET",
                          "--unattended", "--fast", "-o", str(tmp_path / "q.h5")],
                         capture_output=True, text=True, timeout=240,
                         env=_env_without_lsl_config(tmp_path), cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout + out.stderr
    for noise in ("broke off", "data_receiver", "ERR|", "arrived late", "effort shifted", "listening to cue"):
        assert noise not in text, noise
    assert "saved" in out.stdout and "VALID" in out.stdout
