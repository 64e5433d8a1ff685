"""`autograder demo` end to end on the tiny course: release, import, grade, feedback, export, certify."""

from __future__ import annotations

import csv
import json

import pytest
from pipeline_fixtures import LAB, make_course

from autograder.cli import main


def test_demo_runs_every_step_and_says_where_outputs_are(tmp_path, capsys):
    course = make_course(tmp_path / "course")
    workspace = tmp_path / "demo"
    assert main(["--course", str(course), "demo", "--workspace", str(workspace), "--learners", "8",
                 "--completers", "2", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    for what in ("gradebook (nbgrader)", "grades CSV", "Canvas gradebook CSV", "feedback pages", "LMS download"):
        assert what in out
    plan = json.loads((workspace / "downloads" / "cohort-plan.json").read_text())
    # Two completers, then one twist each: the fourth twist is a missing lab, so that learner's one lab is absent.
    assert [p["variant"] for p in plan] == ["solution", "alternative-1", "late", "corrupt-json", "wrong-1",
                                            "partial", "deleted-test-cell"]
    # The full tables are in files the demo names; the terminal gets their summaries.
    for name in ("import.txt", "grading.txt", "status.txt", "certify.txt"):
        assert (workspace / "reports" / name).stat().st_size > 0
    assert "import.txt" in out.replace("\n", "") and "Graded in this run" not in out and "Graded in this run" in (
        workspace / "reports" / "grading.txt").read_text()
    print(out)
    with open(workspace / "exports" / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["learner_id"]: row for row in csv.DictReader(handle)}
    variants = {p["learner"]: p["variant"] for p in plan}
    for learner, variant in variants.items():
        row = rows[learner]
        if variant in ("solution", "alternative-1", "late", "deleted-test-cell"):
            assert (row["score"], row["status"]) == ("5", "graded"), (learner, variant, row)
        if variant == "blank":
            assert row["score"] == "0"
        if variant == "corrupt-json":
            assert (row["status"], row["needs_review"]) == ("corrupt", "yes")
        if variant == "late":
            assert row["late"] == "yes"
    assert len(list((workspace / "feedback").glob(f"*/{LAB}/*.html"))) == len(plan)
    # The course folder itself is untouched: the demo works on a copy.
    assert not (course / "submitted").exists() and not (course / "gradebook.db").exists()


def test_demo_leaves_a_foreign_folder_alone(tmp_path):
    course = make_course(tmp_path / "course")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    assert main(["--course", str(course), "demo", "--workspace", str(precious)]) == 2
    assert (precious / "thesis.txt").exists()
