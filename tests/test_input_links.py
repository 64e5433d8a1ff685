"""Import never follows a symbolic link or reads a special file, in the download or under submitted/.

A link planted where import reads or writes (``submitted/<learner>/``, ``.../<lab>/<notebook>``) would
let the trusted side read the instructor's files as the learner's, or write outside submitted/.
Real files, real links, real FIFOs, the real `autograder import`.
"""

from __future__ import annotations

import os
import stat
import zipfile

import pytest
from pipeline_fixtures import LAB, NOTEBOOK, SOLUTION_MARKER, course_with_roster

from autograder.cli import main
from autograder.collect import UnsafeArchive, import_submissions

NOTEBOOK_BYTES = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


@pytest.fixture
def course(tmp_path):
    return course_with_roster(tmp_path)


def download_for(tmp_path, learner: str, data: bytes = NOTEBOOK_BYTES):
    folder = tmp_path / "download"
    (folder / learner).mkdir(parents=True, exist_ok=True)
    (folder / learner / NOTEBOOK).write_bytes(data)
    return folder


def test_a_submitted_notebook_that_links_to_the_solution_is_refused_not_read(course, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    curriculum, roster = course
    root = curriculum.root
    planted = root / "submitted" / "jsmith" / LAB / NOTEBOOK
    planted.parent.mkdir(parents=True)
    planted.symlink_to(root / "source" / LAB / NOTEBOOK)
    download = download_for(tmp_path, "jsmith")
    report = import_submissions(curriculum, download, roster, replace=True)
    (row,) = report.rows
    assert row.action == "skipped" and f"submitted/jsmith/{LAB}/{NOTEBOOK} is a symbolic link" in row.reason
    code = main(["--course", str(root), "import", str(download), str(roster), "--replace"])
    assert code == 0 and "is a symbolic link" in capsys.readouterr().out
    # Nothing read through the link: no copy of the solution anywhere outside source/.
    copies = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and "source" not in p.parts
              and SOLUTION_MARKER.encode() in p.read_bytes()]
    assert copies == []
    assert planted.is_symlink() and not (root / "archive").exists()


def test_a_learner_folder_that_links_elsewhere_is_never_written_through(course, tmp_path):
    curriculum, roster = course
    outside = tmp_path / "outside"
    outside.mkdir()
    (curriculum.root / "submitted").mkdir()
    (curriculum.root / "submitted" / "okim").symlink_to(outside, target_is_directory=True)
    report = import_submissions(curriculum, download_for(tmp_path, "okim"), roster)
    (row,) = report.rows
    assert row.action == "skipped" and "submitted/okim is a symbolic link" in row.reason
    assert list(outside.iterdir()) == []


def test_a_fifo_in_a_download_folder_is_reported_and_never_opened(course, tmp_path):
    curriculum, roster = course
    download = download_for(tmp_path, "jsmith")
    os.mkfifo(download / "okim.ipynb")  # opening it for reading would block the import forever
    report = import_submissions(curriculum, download, roster)
    reasons = {row.file: row.reason for row in report.rows}
    assert "a special file (FIFO)" in reasons["okim.ipynb"]
    assert [row.learner for row in report.imported] == ["jsmith"]


@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK],
                         ids=["fifo", "char-device", "block-device", "socket"])
def test_a_zip_entry_marked_as_a_special_file_refuses_the_archive(course, tmp_path, kind):
    curriculum, roster = course
    special = zipfile.ZipInfo(f"smithjane_4001_9001_{NOTEBOOK}")
    special.external_attr = (kind | 0o644) << 16
    with zipfile.ZipFile(tmp_path / "special.zip", "w") as zf:
        zf.writestr(special, NOTEBOOK_BYTES)
    with pytest.raises(UnsafeArchive, match="is a special file"):
        import_submissions(curriculum, tmp_path / "special.zip", roster)
    assert not (curriculum.root / "submitted").exists()


# --- the helpers the grading side shares -----------------------------------------------------------

def test_helpers_refuse_links_anywhere_between_the_base_and_the_file(tmp_path):
    from autograder.collect import LinkRefused, links_under, read_no_follow, refuse_links
    base = tmp_path / "submitted"
    (base / "ada" / LAB).mkdir(parents=True)
    real = base / "ada" / LAB / NOTEBOOK
    real.write_bytes(NOTEBOOK_BYTES)
    assert refuse_links(real, base) is None and read_no_follow(real, base) == NOTEBOOK_BYTES
    (tmp_path / "secret.ipynb").write_bytes(b"SECRET")
    (base / "bob" / LAB).mkdir(parents=True)
    (base / "bob" / LAB / NOTEBOOK).symlink_to(tmp_path / "secret.ipynb")
    (base / "cy").symlink_to(base / "ada", target_is_directory=True)
    os.mkfifo(base / "ada" / LAB / "pipe.ipynb")
    assert "bob/01-tiny/tiny.ipynb is a symbolic link" in refuse_links(base / "bob" / LAB / NOTEBOOK, base)
    assert "cy is a symbolic link" in refuse_links(base / "cy" / LAB / NOTEBOOK, base)
    assert "pipe.ipynb is a special file (FIFO)" in refuse_links(base / "ada" / LAB / "pipe.ipynb", base)
    for path in (base / "bob" / LAB / NOTEBOOK, base / "cy" / LAB / NOTEBOOK, base / "ada" / LAB / "pipe.ipynb"):
        with pytest.raises(LinkRefused):
            read_no_follow(path, base)
    found = dict(links_under(base))
    assert set(found) == {"bob/01-tiny/tiny.ipynb", "cy", "ada/01-tiny/pipe.ipynb"}
    with pytest.raises(ValueError, match="not inside"):
        refuse_links(tmp_path / "secret.ipynb", base)
