"""Every command that writes checks its output before any work: a missing or unwritable
folder and an existing output (without --overwrite) are one line and exit 2, and nothing is
written, created or started (run: no simulated lab; record: no waiting for streams)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import run_cli

# command -> (arguments before -o, output name inside the folder, arguments after it)
WRITERS = {
    "report": (["report", "{session}"], "r.html", []),
    "export-c3d": (["export", "{session}"], "x.c3d", []),
    "export-csv": (["export", "{session}"], "csv", []),
    "analyze": (["analyze", "{session}"], "table.csv", ["--workers", "1"]),
    "plot": (["plot", "{session}", "--trial", "1"], "figs", []),
    "import-c3d": (["import", "{c3d}"], "c.h5", []),
    "import-xdf": (["import", "{xdf}"], "x.h5", []),
    "run": (["run", "imtp", "--athlete", "A01", "--unattended", "--fast"], "run.h5", []),
    "record": (["record"], "rec.h5", ["--duration", "1"]),
    "demo": (["demo", "--synthetic"], "demo.h5", []),
}


def _args(request, name: str, out: Path) -> list[str]:
    before, _, after = WRITERS[name]
    files = {"session": "session_h5", "c3d": "c3d_file", "xdf": "xdf_file"}
    fill = {k: str(request.getfixturevalue(v)) for k, v in files.items()
            if any("{" + k + "}" in a for a in before)}
    return [a.format(**fill) for a in before] + ["-o", str(out)] + after


@pytest.mark.parametrize("name", WRITERS)
def test_a_missing_output_folder_is_one_line_before_any_work(request, capsys, tmp_path, name):
    folder = tmp_path / "missing"
    out = folder / WRITERS[name][1]
    code, stdout, err = run_cli(capsys, *_args(request, name, out))
    assert (code, stdout) == (2, "")
    assert err == (f"labkit: error: -o {out}: folder {folder} does not exist; create it or choose another "
                   "path\n")
    assert not folder.exists()  # not created either


@pytest.mark.parametrize("name", WRITERS)
def test_an_output_under_a_file_is_one_line_before_any_work(request, capsys, tmp_path, name):
    # tests run as root, for whom a read-only folder is writable: a folder that is a file is not
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file\n")
    out = not_a_folder / WRITERS[name][1]
    code, stdout, err = run_cli(capsys, *_args(request, name, out))
    assert (code, stdout) == (2, "")
    assert err == f"labkit: error: -o {out}: {not_a_folder} is a file, not a folder; choose another path\n"
    assert not_a_folder.read_text() == "a file\n"


@pytest.mark.parametrize("name", ["report", "export-csv", "analyze", "plot", "import-c3d", "record"])
def test_a_read_only_output_folder_is_one_line(request, capsys, tmp_path, name):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    mounted = False
    try:
        if os.access(folder, os.W_OK):
            # root writes through permission bits: make the folder a read-only file system
            mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                                   capture_output=True, text=True)
            if mount.returncode != 0:
                pytest.skip(f"running as root and cannot mount a read-only folder: {mount.stderr.strip()}")
            mounted = True
        assert not os.access(folder, os.W_OK)
        out = folder / WRITERS[name][1]
        code, stdout, err = run_cli(capsys, *_args(request, name, out))
        assert (code, stdout) == (2, "")
        assert err == (f"labkit: error: -o {out}: folder {folder} is not writable; choose another "
                       "path or check its permissions\n")
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_missing_folder_is_named_even_when_nested(capsys, session_h5, tmp_path):
    out = tmp_path / "a" / "b" / "r.html"
    code, _, err = run_cli(capsys, "report", session_h5, "-o", out)
    assert code == 2 and f"folder {out.parent} does not exist" in err
    # a folder output is created by the command itself, one level, as before
    code, _, err = run_cli(capsys, "export", session_h5, "-o", tmp_path / "new-csv")
    assert code == 0, err
    assert (tmp_path / "new-csv" / "session.json").exists()


def test_an_output_that_is_a_folder_or_a_file_where_a_folder_belongs(capsys, session_h5, tmp_path):
    (tmp_path / "r.html").mkdir()
    code, _, err = run_cli(capsys, "report", session_h5, "-o", tmp_path / "r.html")
    assert code == 2 and err == f"labkit: error: -o {tmp_path / 'r.html'}: is a folder; give a file name\n"
    (tmp_path / "figs").write_text("x")
    code, _, err = run_cli(capsys, "plot", session_h5, "--trial", "1", "-o", tmp_path / "figs")
    assert code == 2
    assert err == f"labkit: error: -o {tmp_path / 'figs'}: is a file, not a folder; give a folder\n"


# -- existing outputs: refused without --overwrite ------------------------------------------
FILE_OUTPUTS = ["report", "export-c3d", "analyze", "import-c3d", "import-xdf", "record", "demo"]


@pytest.mark.parametrize("name", FILE_OUTPUTS)
def test_an_existing_output_needs_overwrite(request, capsys, tmp_path, name):
    out = tmp_path / WRITERS[name][1]
    out.write_bytes(b"keep me")
    args = _args(request, name, out)
    code, stdout, err = run_cli(capsys, *args)
    assert (code, stdout) == (2, "")
    assert err == (f"labkit: error: -o {out}: file exists; pass --overwrite to replace it, or choose "
                   "another path\n")
    assert out.read_bytes() == b"keep me"
    if name != "record":  # (recording needs the lab's streams)
        code, _, err = run_cli(capsys, *args, "--overwrite")
        assert code == 0, err
        assert out.read_bytes() != b"keep me"


def test_run_names_overwrite_and_resume_for_an_existing_session(capsys, tmp_path):
    out = tmp_path / "run.h5"
    out.write_bytes(b"keep me")
    code, _, err = run_cli(capsys, "run", "imtp", "--athlete", "A01", "--unattended", "-o", out)
    assert code == 2 and out.read_bytes() == b"keep me"
    assert err == (f"labkit: error: {out}: file exists; choose another --out, --resume it, or pass "
                   "--overwrite\n")


def test_plot_refuses_to_replace_a_figure_without_overwrite(capsys, session_h5, tmp_path):
    figure = tmp_path / f"{session_h5.stem}_trial1_force.png"
    figure.write_bytes(b"keep me")
    code, stdout, err = run_cli(capsys, "plot", session_h5, "--trial", "1", "-o", tmp_path)
    assert (code, stdout) == (2, "")
    assert err == (f"labkit: error: -o {tmp_path}: {figure} exists; pass --overwrite to replace it, or "
                   "choose another folder\n")
    assert figure.read_bytes() == b"keep me"
    code, stdout, _ = run_cli(capsys, "plot", session_h5, "--trial", "1", "-o", tmp_path, "--overwrite")
    assert code == 0 and f"wrote {figure}" in stdout and figure.read_bytes()[:4] == b"\x89PNG"


def test_csv_export_into_a_folder_with_its_files_names_the_file_and_the_flag(capsys, session_h5, tmp_path):
    out = tmp_path / "csv"
    out.mkdir()
    (out / "events.csv").write_text("keep me\n")
    code, stdout, err = run_cli(capsys, "export", session_h5, "-o", out)
    assert (code, stdout) == (2, "")
    assert err.startswith("labkit: error:") and len(err.splitlines()) == 1
    assert str(out / "events.csv") in err and "pass --overwrite" in err
    assert (out / "events.csv").read_text() == "keep me\n"
    # unrelated files in the folder are fine
    other = tmp_path / "csv2"
    other.mkdir()
    (other / "notes.txt").write_text("mine\n")
    assert run_cli(capsys, "export", session_h5, "-o", other)[0] == 0


def test_analyze_never_replaces_a_good_table_when_every_file_failed(capsys, session_h5, tmp_path):
    out = tmp_path / "table.csv"
    code, _, err = run_cli(capsys, "analyze", session_h5, "-o", out, "--workers", "1")
    assert code == 0, err
    good = out.read_bytes()
    bad = [tmp_path / "bad1.h5", tmp_path / "bad2.h5"]
    for b in bad:
        b.write_bytes(session_h5.read_bytes()[:5000])  # truncated copies
    code, stdout, err = run_cli(capsys, "analyze", *bad, "-o", out, "--workers", "1", "--overwrite")
    assert code == 1
    failed = [line for line in (stdout + err).splitlines() if line.startswith("labkit: failed:")]
    assert len(failed) == 2
    assert err.splitlines()[-1] == (f"labkit: error: all 2 files failed; nothing written ({out} is "
                                    "left as it was)")
    assert out.read_bytes() == good
    # and with no table there yet, none is created
    fresh = tmp_path / "fresh.csv"
    code, _, err = run_cli(capsys, "analyze", *bad, "-o", fresh, "--workers", "1")
    assert code == 1 and err.splitlines()[-1] == "labkit: error: all 2 files failed; nothing written"
    assert not fresh.exists()
