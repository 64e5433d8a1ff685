"""`autograder grade` gives every graded cell of the real labs the score stock `nbgrader autograde` gives.

The lab harness has already graded each lab's sample submissions (solution, blank release,
alternatives, wrong answers) with stock nbgrader in a course folder of its own. This test releases
the same lab into a fresh course with this project's `autograder release`, grades two of the same
submissions (``COMPARED``) with `autograder grade` (sandboxed, two workers), and compares, per learner and graded
cell (autograded tests and the manually graded reflections alike), the score and whether nbgrader
marks it for manual grading.
"""

from __future__ import annotations

import io
import shutil

import pytest
from nbgrader.api import Gradebook
from rich.console import Console

from lab_harness import COURSE_FILES, ROOT

from autograder.curriculum import load_curriculum
from autograder.grading.grade import grade_labs
from autograder.release import release

# Two submissions per lab keep this affordable with 16 labs (each is one more sandboxed run): the
# solution (every cell passes) and the first wrong answers (failing cells, partial scores). The blank
# release and the alternatives take the same paths through the grader; the harness grades them with
# stock nbgrader, and tests/test_grade.py and test_grader_hardening.py cover the grader's own paths.
COMPARED = ("solution", "wrong-1")


def cell_grades(course) -> dict[tuple[str, str], tuple[float | None, bool]]:
    """(learner, grade_id) -> (score, needs manual grade), from nbgrader's own gradebook."""
    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        found[(submission.student.id, grade.name)] = (grade.score, grade.needs_manual_grade)
    return found


@pytest.fixture(scope="module")
def ours(lab_runs, tmp_path_factory):
    """Every prepared lab's compared submissions, graded by this project's grader in one run."""
    course = tmp_path_factory.mktemp("ours") / "course"
    course.mkdir()
    for name in COURSE_FILES:
        shutil.copy2(ROOT / name, course / name)
    labs = [lab_id for lab_id, run in lab_runs.items() if not isinstance(run, Exception)]
    for lab_id in labs:
        run = lab_runs[lab_id]
        shutil.copytree(run.course / "source" / lab_id, course / "source" / lab_id)
        for variant in COMPARED:
            shutil.copytree(run.course / "submitted" / variant / lab_id, course / "submitted" / variant / lab_id)
    curriculum = load_curriculum(course)
    release(curriculum, labs, echo=lambda *a: None)
    # Fixed, generous limits: timing each lab's solution first is tested elsewhere and costs time here.
    outcomes = grade_labs(curriculum, labs, workers=2, cell_timeout=300, notebook_budget=900,
                          console=Console(file=io.StringIO()), show_progress=False)
    return course, outcomes


def test_every_graded_cell_scores_as_under_stock_nbgrader(lab, lab_run, ours):
    course, _ = ours
    theirs = {key: value for key, value in cell_grades(lab_run.course).items() if key[0] in COMPARED}
    mine = {key: value for key, value in cell_grades(course).items()
            if key[0] in COMPARED and key[1].startswith(f"{lab.grade_prefix}-")}
    assert theirs, f"stock nbgrader graded nothing for {lab.id}"
    differences = {key: (theirs.get(key), mine.get(key)) for key in set(theirs) | set(mine)
                   if theirs.get(key) != mine.get(key)}
    assert not differences, f"{lab.id}: (stock, ours) differ for {sorted(differences.items())[:10]}"
