"""A submission under review is exported without a score, in every format, with the reason kept.

Built on the sample cohort's real nbgrader gradebook (tests/cohort_builder.py); the review flag is
recorded through the outcomes module, as grading records it, and the export runs through the CLI.
"""

from __future__ import annotations

import csv

from cohort_builder import cohort_copy, flag_for_review

from autograder.cli import main
from autograder.export import GRADES_COLUMNS
from autograder.curriculum import load_curriculum

LAB = "04-checking-results"


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_flagged_scores_are_left_blank_in_every_export_format(tmp_path_factory, tmp_path, capsys):
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    flag_for_review(root, "cam", LAB, "canary answered without an error: the test machinery was altered")
    assert main(["--course", str(root), "export"]) == 0
    capsys.readouterr()

    rows = read_csv(root / "exports" / "grades.csv")
    assert rows[0] == GRADES_COLUMNS
    by_key = {(row[0], row[3]): dict(zip(rows[0], row)) for row in rows[1:]}
    flagged = by_key[("cam", LAB)]
    assert flagged["score"] == "" and flagged["percent"] == ""
    assert flagged["needs_review"] == "yes" and flagged["status"] == "needs review"
    assert flagged["max_score"] == f"{load_curriculum(root).lab(LAB).points:g}"
    assert flagged["reason"] == ("score left blank until an instructor has reviewed it: canary answered without "
                                 "an error: the test machinery was altered")
    # Everyone else keeps their points, cam's other labs included.
    assert by_key[("cam", "03-how-models-learn")]["score"] not in ("", "0")
    ada_score = f"{0.9 * load_curriculum(root).lab(LAB).points:g}"  # cohort_builder: ada scores 90 % on it
    assert by_key[("ada", LAB)]["score"] == ada_score and by_key[("ada", LAB)]["percent"] == "90.0"

    canvas = read_csv(root / "exports" / "canvas-gradebook.csv")
    column = next(i for i, title in enumerate(canvas[0]) if title.endswith(f"({LAB})"))
    students = {row[2]: row for row in canvas[2:]}
    assert students["cam"][column] == "" and students["ada"][column] == ada_score


def test_a_flag_without_a_recorded_reason_still_says_why_the_score_is_blank(tmp_path_factory, tmp_path):
    from autograder.curriculum import load_curriculum
    from autograder.export import export
    root = cohort_copy(tmp_path_factory, tmp_path / "course")
    flag_for_review(root, "ada", LAB, "")
    rows = read_csv(export(load_curriculum(root))["grades"])
    flagged = next(dict(zip(rows[0], r)) for r in rows[1:] if r[0] == "ada" and r[3] == LAB)
    assert flagged["score"] == "" and flagged["reason"] == "score left blank until an instructor has reviewed it"
