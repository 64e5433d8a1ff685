"""The cohort report: one self-contained HTML file holding every section, built from a real gradebook."""

from __future__ import annotations

import argparse
import base64
import re

import pytest

from autograder import report
from autograder.credentials.certify import certify_cohort
from autograder.report import write_report
from cohort_builder import cohort_copy, flag_for_review, set_result

SECTIONS = ["risk", "review", "tracks", "distributions", "hardest", "late", "certificates", "progress"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("report") / "course")
    flag_for_review(root, "cam", "04-checking-results", "the kernel died during grading")
    certify_cohort(root)
    set_result(root, "ada", "03-how-models-learn", 0.5)  # drops below the rule after certification
    path = write_report(root)
    assert path == root / "reports" / "cohort.html"
    return path.read_text(encoding="utf-8")


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    following = page.find("<h2 ", start + 1)
    return page[start:following if following > 0 else len(page)]


def test_the_report_is_self_contained(page):
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    for source in sources:
        png = base64.b64decode(source.split(",", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_the_report_has_every_section(page):
    for anchor in SECTIONS:
        assert f'<h2 id="{anchor}">' in page
    assert "Manually graded reflection cells count 0 until an instructor grades them" in page


def test_sections_show_the_cohort(page):
    risk = _section(page, "risk")
    assert "Ben Okafor" in risk and re.search(r"03-how-models-learn at \d+\.\d %", risk)
    assert "Dee Ramos" in risk and "missing 05-monitoring (past the due date)" in risk
    assert "Ada Lovelace" in risk and "Eve" not in risk
    review = _section(page, "review")
    assert "Cam Nguyen" in review and "the kernel died during grading" in review
    assert "Eve Müller" in review and "awaiting manual grading" in review
    tracks = _section(page, "tracks")
    assert "AI Practitioner" in tracks and "1 of 5" in tracks  # eve (ada dropped, cam under review)
    # The leader track's labs (11-14) leave out ada's lab 03, cam's review and eve's pending reflection.
    assert re.search(r"AI Leader</td>.*?5 of 5", tracks, re.S), tracks
    hardest = _section(page, "hardest")
    assert hardest.index("learn03-ex2-test") < hardest.index("data01-ex1-test") < hardest.index("Written answers")
    assert "check04-reflection" in hardest[hardest.index("Written answers"):]
    late = _section(page, "late")
    assert "Dee Ramos" in late and "05-monitoring" in late and "02-preparing-data (30 h late)" in late
    certificates = _section(page, "certificates")
    assert "ATTENTION: no longer meets the rule (03-how-models-learn at 50 % (needs 70 %))" in certificates
    assert "Eve Müller" in certificates and "valid; still meets the rule" in certificates
    progress = _section(page, "progress")
    assert progress.count("<tr>") == 1 + 5
    assert '<span class="cell missing">missing</span>' in progress
    assert "no longer meets rule" in progress and progress.count("certified (") >= 5  # every leader too


def test_the_report_command(tmp_path_factory, capsys):
    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("report-cli") / "course")
    target = root / "out" / "cohort.html"
    assert report.run(argparse.Namespace(course=root, output=target)) == 0
    assert str(target) in capsys.readouterr().out and target.exists()
    assert "No certificates issued yet" in target.read_text()


def test_work_not_yet_due_is_not_called_missing(tmp_path_factory):
    from datetime import timedelta, timezone

    from cohort_builder import DUE
    root = cohort_copy(tmp_path_factory, tmp_path_factory.mktemp("report-early") / "course")
    page = write_report(root, now=(DUE - timedelta(days=3)).replace(tzinfo=timezone.utc)).read_text()
    late = _section(page, "late")
    assert "05-monitoring (due 01 Nov)" in late
    risk = _section(page, "risk")
    assert "Dee Ramos" not in risk and "Ben Okafor" in risk
    assert '<span class="cell missing">not yet</span>' in _section(page, "progress")
