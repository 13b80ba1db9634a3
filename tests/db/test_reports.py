"""`labkit db report ATHLETE` and `labkit db team GROUP`: self-contained HTML pages with the
trend plots, SWC bands and traffic lights, rendered by headless Chromium (non-blank)."""

from __future__ import annotations

import re

import pytest

from labkit.cli import main
from tests.chromium_shot import screenshot


def _screenshot(html_path, tmp_path):
    return screenshot(html_path, tmp_path, height_px=1600)[..., :3]


@pytest.fixture
def filled(db_url, small_cohort, tmp_path):
    roster = tmp_path / "roster.csv"
    small_cohort.roster.assign(groups=small_cohort.roster["groups"]).to_csv(roster, index=False)
    assert main(["db", "init", "--db", db_url]) == 0
    assert main(["db", "add", *map(str, small_cohort.files), "--db", db_url]) == 0
    assert main(["db", "athletes", "--import", str(roster), "--db", db_url, "--csv"]) == 0
    return db_url


def test_athlete_report_has_trends_swc_band_and_latest_vs_baseline(filled, tmp_path, capsys):
    out = tmp_path / "ATH001.html"
    assert main(["db", "report", "ATH001", "--db", filled, "-o", str(out)]) == 0
    text = out.read_text()
    assert text.count("aria-label='trend'") == 2  # imtp peak force and RFD 0-100 ms
    assert "baseline ± SWC" in text and "Latest vs baseline" in text
    assert "class='light green'" in text  # ATH001 gains 20 % from the third session
    assert "No sided tests recorded" in text
    assert "src='http" not in text and "<script" not in text and "href=" not in text  # self-contained
    img = _screenshot(out, tmp_path)
    grey = img.mean(axis=2)
    assert grey.std() > 0.05 and (grey < 0.5).mean() > 0.002
    # the green light of the flagged change is drawn (pure-ish green pixels)
    assert ((img[..., 1] > 0.5) & (img[..., 0] < 0.3) & (img[..., 2] < 0.4)).sum() > 20


def test_team_report_one_row_per_athlete_with_lights_and_sparklines(filled, tmp_path, capsys):
    out = tmp_path / "team.html"
    assert main(["db", "team", "team-A", "--db", filled, "-o", str(out)]) == 0
    text = out.read_text()
    rows = re.findall(r"<tr><td class='l'>(ATH\d+)</td>", text)
    assert rows == [f"ATH{k:03d}" for k in range(1, 9)]  # team-A: the first half of the cohort
    assert text.count("aria-label='sparkline'") == 16  # 8 athletes x 2 key metrics
    assert "light red" in text and "light green" in text and "light amber" in text
    img = _screenshot(out, tmp_path)
    assert img.mean(axis=2).std() > 0.05
    assert main(["db", "team", "nobody", "--db", filled, "-o", str(tmp_path / "x.html")]) == 2
    assert "group 'nobody' has no athletes; groups: team-A, team-B" in capsys.readouterr().err
