"""`autograder import`: LMS layouts, rosters, hostile archives, and never losing a submission."""

from __future__ import annotations

import csv
import io
import stat
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pipeline_fixtures import LAB, NOTEBOOK, make_course

from autograder.cli import main
from autograder.collect import ImportFailed, UnsafeArchive, import_submissions
from autograder.curriculum import load_curriculum

NOTEBOOK_BYTES = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
ROSTER = [("jsmith", "Jane Smith", "jane.smith@example.org"), ("okim", "Kim, Oh-seo", "okim@example.org"),
          ("pdubois", "Pierre Dubois", "pierre@example.org")]


@pytest.fixture
def course(tmp_path):
    root = make_course(tmp_path / "course")
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email"])
        writer.writerows(ROSTER)
    return load_curriculum(root), roster


def make_zip(path: Path, entries: list[tuple[str, bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in entries:
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def submitted(root: Path, learner: str) -> Path:
    return root / "submitted" / learner / LAB / NOTEBOOK


def test_canvas_zip_with_times_resubmissions_and_strangers(course, tmp_path):
    curriculum, roster = course
    archive = make_zip(tmp_path / "canvas.zip", [
        (f"smithjane_4001_9001_{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 11, 20, 9, 30, 0)),
        ("kimohseo_late_4002_9002_tiny-1.ipynb", NOTEBOOK_BYTES + b" ", (2026, 12, 2, 8, 0, 0)),
        (f"kimohseo_4002_9003_{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 11, 29, 8, 0, 0)),
        (f"strangerjohn_4099_9004_{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 11, 20, 9, 0, 0)),
        ("duboispierre_4003_9005_notes.txt", b"hello", (2026, 11, 20, 9, 0, 0)),
    ])
    report = import_submissions(curriculum, archive, roster)
    root = curriculum.root
    assert submitted(root, "jsmith").read_bytes() == NOTEBOOK_BYTES
    assert (submitted(root, "jsmith").parent / "timestamp.txt").read_text().startswith("2026-11-20 09:30:00")
    # Two uploads by one learner: the newer (Canvas renames it tiny-1.ipynb) wins, the older is reported.
    assert submitted(root, "okim").read_bytes() == NOTEBOOK_BYTES + b" "
    reasons = {row.file: (row.action, row.reason) for row in report.rows}
    assert reasons[f"kimohseo_4002_9003_{NOTEBOOK}"][0] == "skipped"
    assert "older" in reasons[f"kimohseo_4002_9003_{NOTEBOOK}"][1]
    assert "no learner in the roster" in reasons[f"strangerjohn_4099_9004_{NOTEBOOK}"][1]
    assert "not a notebook" in reasons["duboispierre_4003_9005_notes.txt"][1]
    assert sorted(r.learner for r in report.imported) == ["jsmith", "okim"]


def test_moodle_names_and_folder_per_learner(course, tmp_path):
    curriculum, roster = course
    archive = make_zip(tmp_path / "moodle.zip", [
        (f"Jane Smith_311_assignsubmission_file_/{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 11, 20, 9, 0, 0)),
        (f"Pierre Dubois_312_assignsubmission_file_{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 11, 21, 9, 0, 0)),
    ])
    report = import_submissions(curriculum, archive, roster)
    assert sorted(r.learner for r in report.imported) == ["jsmith", "pdubois"]
    folder = tmp_path / "folders"
    (folder / "okim" / LAB).mkdir(parents=True)
    (folder / "okim" / LAB / NOTEBOOK).write_bytes(NOTEBOOK_BYTES)
    (folder / "okim" / LAB / "timestamp.txt").write_text("2026-11-22 10:00:00 UTC")
    report = import_submissions(curriculum, folder, roster)
    assert [r.learner for r in report.imported] == ["okim"]
    assert (submitted(curriculum.root, "okim").parent / "timestamp.txt").read_text().startswith("2026-11-22 10:00:00")


@pytest.mark.parametrize("name, why", [
    (f"../../{NOTEBOOK}", "'..'"),
    (f"/etc/{NOTEBOOK}", "absolute path"),
    (f"C:/Users/{NOTEBOOK}", "absolute path"),
    (f"..\\{NOTEBOOK}", "'..'"),
])
def test_refuses_path_traversal_and_absolute_paths(course, tmp_path, name, why):
    curriculum, roster = course
    archive = make_zip(tmp_path / "evil.zip", [(f"smithjane_4001_9001_{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 1, 1, 0, 0, 0)),
                                               (name, NOTEBOOK_BYTES, (2026, 1, 1, 0, 0, 0))])
    with pytest.raises(UnsafeArchive, match=why) as error:
        import_submissions(curriculum, archive, roster)
    assert str(archive) in str(error.value) and "Nothing was imported" in str(error.value)
    assert not (curriculum.root / "submitted").exists()


def test_refuses_links_and_archive_bombs(course, tmp_path):
    curriculum, roster = course
    link = zipfile.ZipInfo(f"smithjane_4001_9001_{NOTEBOOK}")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        import_submissions(curriculum, tmp_path / "link.zip", roster)
    bomb = make_zip(tmp_path / "bomb.zip", [(f"smithjane_4001_9001_{NOTEBOOK}", b"0" * 5_000_000, (2026, 1, 1, 0, 0, 0))])
    assert bomb.stat().st_size < 50_000
    with pytest.raises(UnsafeArchive, match="expands past"):
        import_submissions(curriculum, bomb, roster, max_bytes=1_000_000)
    assert not (curriculum.root / "submitted").exists()
    # A folder's symbolic links are reported and never followed.
    folder = tmp_path / "folder" / "jsmith"
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).symlink_to(tmp_path / "roster.csv")
    report = import_submissions(curriculum, tmp_path / "folder", roster)
    assert not report.imported and "symbolic link" in report.rows[0].reason


def test_never_overwrites_an_earlier_submission_silently(course, tmp_path):
    curriculum, roster = course
    first = make_zip(tmp_path / "1.zip", [(f"smithjane_4001_9001_{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 11, 20, 9, 0, 0))])
    second = make_zip(tmp_path / "2.zip", [(f"smithjane_4001_9002_{NOTEBOOK}", NOTEBOOK_BYTES + b"\n",
                                            (2026, 11, 21, 9, 0, 0))])
    import_submissions(curriculum, first, roster)
    again = import_submissions(curriculum, first, roster)
    assert again.rows[0].action == "skipped" and "identical" in again.rows[0].reason
    kept = import_submissions(curriculum, second, roster)
    assert kept.rows[0].action == "skipped" and "--replace" in kept.rows[0].reason
    assert submitted(curriculum.root, "jsmith").read_bytes() == NOTEBOOK_BYTES
    replaced = import_submissions(curriculum, second, roster, replace=True)
    assert replaced.rows[0].action == "replaced"
    assert submitted(curriculum.root, "jsmith").read_bytes() == NOTEBOOK_BYTES + b"\n"
    [archived] = list((curriculum.root / "archive" / "jsmith" / LAB).glob(f"*/{NOTEBOOK}"))
    assert archived.read_bytes() == NOTEBOOK_BYTES


def test_bad_inputs_name_the_file_and_the_fix(course, tmp_path, capsys):
    curriculum, roster = course
    bad_roster = tmp_path / "bad.csv"
    bad_roster.write_text("name,email\nJane,j@x.org\n")
    with pytest.raises(ImportFailed, match="no 'id' column"):
        import_submissions(curriculum, tmp_path, bad_roster)
    (tmp_path / "not.zip").write_bytes(b"plain text")
    code = main(["--course", str(curriculum.root), "import", str(tmp_path / "not.zip"), str(roster)])
    assert code == 2 and "not a zip file" in capsys.readouterr().err
    evil = make_zip(tmp_path / "evil.zip", [(f"../{NOTEBOOK}", NOTEBOOK_BYTES, (2026, 1, 1, 0, 0, 0))])
    code = main(["--course", str(curriculum.root), "import", str(evil), "--roster", str(roster)])
    err = capsys.readouterr().err
    assert code == 2 and "refused" in err and "evil.zip" in err
