"""Protocol files: the shipped ones validate; bad ones get one line naming file, line, field, fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit.errors import ConfigError
from labkit.protocol.schema import load_protocol, shipped_protocols

IMTP = (shipped_protocols()[0].parent / "imtp.yaml").read_text()


def test_every_shipped_protocol_validates():
    names = {load_protocol(p)[0].name for p in shipped_protocols()}
    assert names >= {"imtp", "isometric_hip_extension", "isometric_hip_flexion",
                     "isometric_trunk_rotation", "cmj", "mvc", "hip_battery"}


@pytest.mark.parametrize(("edit", "expected"), [
    (("- weigh:", "- weight:"), r"bad\.yaml:15: field steps\.1: .*unknown step type 'weight'; use one of"),
    (("            test: imtp\n", ""), r"bad\.yaml:20: field steps\.2\.repeat\.steps\.0\.trial\.test: "
                                      r"required field is missing; add it"),
    (("until_valid: 3", "until_valid: three"), r"bad\.yaml:17: field steps\.2\.repeat\.until_valid: "
                                                r"Input should be a valid integer"),
    (("effort_s: 5.0", "effort_s: 5.0\n            efort_s: 3"),
     r"field steps\.2\.repeat\.steps\.0\.trial\.efort_s: unknown field"),
    (("max_attempts: 5", "max_attempts: 2"), r"max_attempts must be at least until_valid"),
])
def test_bad_protocols_get_one_clear_line(edit, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        load_protocol("bad.yaml", text=IMTP.replace(*edit))
    assert "\n" not in str(info.value)


def test_hip_tests_need_a_side():
    text = IMTP.replace("test: imtp", "test: isometric_hip_extension")
    with pytest.raises(ConfigError, match="needs `side: left` or `right`, or to be inside a per_side"):
        load_protocol("x.yaml", text=text)


def test_cli_check_prints_one_line_per_bad_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(IMTP.replace("- weigh:", "- weight:"))
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "protocols", "check", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown step type 'weight'" in lines[0] and "Traceback" not in run.stderr
