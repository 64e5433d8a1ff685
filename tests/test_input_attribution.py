"""Everything in an upload belongs to the uploader the LMS names, never to a name found inside it.

The LMS names the uploader in the outermost part of each path: the Canvas ``login_uid_sid_`` prefix,
the Moodle ``Name_pid_assignsubmission_`` prefix, or the per-learner folder. A notebook (or folder)
inside an upload that is named for a classmate stays the uploader's. Two uploads that claim the
same learner and lab with nothing telling them apart are reported for review, never decided by
the order in which they were read or imported.
"""

from __future__ import annotations

import zipfile

import pytest
from pipeline_fixtures import LAB, NOTEBOOK, course_with_roster

from autograder.collect import import_submissions

JANE = b'{"cells": [], "metadata": {"by": "jane"}, "nbformat": 4, "nbformat_minor": 5}'
KIM = b'{"cells": [], "metadata": {"by": "kim"}, "nbformat": 4, "nbformat_minor": 5}'
WHEN = (2026, 11, 20, 9, 0, 0)


@pytest.fixture
def course(tmp_path):
    return course_with_roster(tmp_path)


def make_zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=WHEN), data)
    return path


def submitted(curriculum, learner):
    path = curriculum.root / "submitted" / learner / LAB / NOTEBOOK
    return path.read_bytes() if path.exists() else None


@pytest.mark.parametrize("inside", [f"okim/{NOTEBOOK}", f"kimohseo_4002_9003_{NOTEBOOK}", f"okim/{LAB}/{NOTEBOOK}"],
                         ids=["classmate-folder", "classmate-canvas-name", "classmate-lab-folder"])
def test_a_canvas_upload_holding_a_classmates_notebook_stays_the_uploaders(course, tmp_path, inside):
    curriculum, roster = course
    # Jane uploaded a folder (Canvas prefixes it with her login and ids); inside, a notebook named for Kim.
    archive = make_zip(tmp_path / "canvas.zip", [(f"smithjane_4001_9001_work/{inside}", JANE)])
    report = import_submissions(curriculum, archive, roster)
    assert submitted(curriculum, "okim") is None
    assert all(row.learner in ("", "jsmith") for row in report.rows), report.rows
    # Kim's own upload, in a later download, is imported as hers: nothing of Jane's is in the way.
    later = make_zip(tmp_path / "later.zip", [(f"kimohseo_4002_9004_{NOTEBOOK}", KIM)])
    (row,) = import_submissions(curriculum, later, roster).rows
    assert (row.action, row.learner) == ("imported", "okim") and submitted(curriculum, "okim") == KIM


def test_a_learner_folder_holding_a_classmates_canvas_named_notebook_stays_the_uploaders(course, tmp_path):
    curriculum, roster = course
    download = tmp_path / "download"
    (download / "jsmith").mkdir(parents=True)
    (download / "jsmith" / f"kimohseo_4002_9003_{NOTEBOOK}").write_bytes(JANE)
    report = import_submissions(curriculum, download, roster)
    (row,) = report.rows
    assert row.learner == "jsmith" and row.action == "skipped" and submitted(curriculum, "okim") is None


def test_an_unknown_folder_does_not_hand_its_contents_to_a_learner_named_inside(course, tmp_path):
    curriculum, roster = course
    download = tmp_path / "download"
    for folder in ("jsmiht/okim", "jsmith"):  # a mistyped uploader folder, beside a real one
        (download / folder).mkdir(parents=True)
    (download / "jsmiht" / "okim" / NOTEBOOK).write_bytes(JANE)
    (download / "jsmith" / NOTEBOOK).write_bytes(JANE)
    report = import_submissions(curriculum, download, roster)
    rows = {row.file: row for row in report.rows}
    assert rows[f"jsmiht/okim/{NOTEBOOK}"].action == "skipped"
    assert "'jsmiht'" in rows[f"jsmiht/okim/{NOTEBOOK}"].reason
    assert submitted(curriculum, "okim") is None and submitted(curriculum, "jsmith") == JANE


def test_a_single_wrapper_folder_is_still_allowed(course, tmp_path):
    curriculum, roster = course
    archive = make_zip(tmp_path / "wrapped.zip", [
        (f"Assignment 1 download/smithjane_4001_9001_{NOTEBOOK}", JANE),
        (f"Assignment 1 download/kimohseo_4002_9004_{NOTEBOOK}", KIM),
        ("__MACOSX/Assignment 1 download/._x", b""),
    ])
    report = import_submissions(curriculum, archive, roster)
    assert sorted(row.learner for row in report.imported) == ["jsmith", "okim"]
    assert submitted(curriculum, "jsmith") == JANE and submitted(curriculum, "okim") == KIM


def test_two_different_notebooks_for_one_lab_in_one_upload_are_sent_for_review(course, tmp_path):
    curriculum, roster = course
    download = tmp_path / "download"
    (download / "jsmith" / "copy").mkdir(parents=True)
    (download / "jsmith" / NOTEBOOK).write_bytes(JANE)
    (download / "jsmith" / "copy" / NOTEBOOK).write_bytes(KIM)
    report = import_submissions(curriculum, download, roster)
    assert report.imported == [] and submitted(curriculum, "jsmith") is None
    assert sorted(row.file for row in report.conflicts) == sorted([f"jsmith/{NOTEBOOK}", f"jsmith/copy/{NOTEBOOK}"])
    for row in report.conflicts:
        assert row.action == "review" and row.learner == "jsmith" and row.lab == LAB
        assert "nothing was imported for jsmith's 01-tiny" in row.reason
    # The same file twice is no conflict.
    (download / "jsmith" / "copy" / NOTEBOOK).write_bytes(JANE)
    report = import_submissions(curriculum, download, roster)
    assert [row.learner for row in report.imported] == ["jsmith"] and submitted(curriculum, "jsmith") == JANE


def test_a_resubmission_with_a_later_lms_time_still_replaces_the_earlier_one(course, tmp_path):
    curriculum, roster = course
    with zipfile.ZipFile(tmp_path / "canvas.zip", "w") as zf:
        zf.writestr(zipfile.ZipInfo(f"kimohseo_4002_9003_{NOTEBOOK}", date_time=(2026, 11, 20, 9, 0, 0)), JANE)
        zf.writestr(zipfile.ZipInfo(f"kimohseo_late_4002_9005_{NOTEBOOK}", date_time=(2026, 11, 21, 9, 0, 0)), KIM)
    report = import_submissions(curriculum, tmp_path / "canvas.zip", roster)
    assert [row.file for row in report.imported] == [f"kimohseo_late_4002_9005_{NOTEBOOK}"]
    assert submitted(curriculum, "okim") == KIM and report.conflicts == []
