"""The gradebook writer records a graded notebook exactly as stock nbgrader's own steps do.

One executed notebook (two autograded tests, one failing; a written answer; an unchanged answer
cell), handed in late, is recorded twice into copies of one gradebook: by stock nbgrader's
``SaveAutoGrades`` and ``AssignLatePenalties``, each on its own connection as ``nbgrader autograde``
runs them, and by ``GradebookWriter.record_submission``. Every grade, comment and late penalty must
match, with the course's configured late-penalty plugin (``AssignLatePenalties.plugin_class``). No
kernel runs: the notebook's outputs are written by hand.
"""

from __future__ import annotations

import math
import shutil
import warnings
from datetime import datetime, timedelta
from pathlib import Path

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

from autograder.course import load_nbgrader_config

from autograder.grading.gradebook import GradebookWriter, RecordAutoGrades, RecordLatePenalty, _LentGradebook

ROOT = Path(__file__).resolve().parents[1]
LAB, NOTEBOOK, STUDENT = "lab", "lab", "s1"
DUE = datetime(2026, 11, 1, 12, 0)
HANDED_IN = DUE + timedelta(minutes=90)


class OnePointPerHour(LateSubmissionPlugin):
    """A course's own late rule (nbgrader's documented way to set one): a point per started hour."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return float(math.ceil(total_seconds_late / 3600))


def _cell(make, source, grade_id, points=None, solution=False, unchanged=False, outputs=()):
    cell = make(source)
    meta = {"grade_id": grade_id, "grade": points is not None, "solution": solution, "locked": False}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    if make is new_code_cell:
        cell.outputs = list(outputs)
    cell.metadata.nbgrader["checksum"] = utils.compute_checksum(cell) if unchanged else "a-checksum-from-the-release"
    return cell


def executed_notebook():
    error = new_output("error", ename="AssertionError", evalue="no", traceback=[])
    return new_notebook(cells=[
        _cell(new_code_cell, "x = 1", "answer", solution=True, unchanged=True),   # "No response."
        _cell(new_code_cell, "assert x == 1", "t1", points=2),
        _cell(new_code_cell, "assert x == 2", "t2", points=3, outputs=[error]),
        _cell(new_markdown_cell, "Because the data drift.", "written", points=5, solution=True),
    ])


def make_course(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id="ai-certification-labs") as gb:
        gb.add_assignment(LAB, duedate=DUE)
        gb.add_notebook(NOTEBOOK, LAB)
        for name, points, kind in (("t1", 2, "code"), ("t2", 3, "code"), ("written", 5, "markdown")):
            gb.add_grade_cell(name, NOTEBOOK, LAB, max_score=points, cell_type=kind)
        for name in ("answer", "written"):
            gb.add_solution_cell(name, NOTEBOOK, LAB)
        gb.add_student(STUDENT)
    return folder


def recorded(folder: Path) -> dict:
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gb:
        submission = gb.find_submission(LAB, STUDENT)
        notebook = gb.find_submission_notebook(NOTEBOOK, LAB, STUDENT)
        return {
            "grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in notebook.grades},
            "comments": {c.name: c.auto_comment for c in notebook.comments},
            "penalty": notebook.late_submission_penalty, "score": submission.score,
            "timestamp": submission.timestamp,
        }


def grade_with_stock_nbgrader(folder: Path, config) -> None:
    url = config.CourseDirectory.db_url
    with Gradebook(url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gb.update_or_create_submission(LAB, STUDENT, timestamp=HANDED_IN)
    resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": LAB, "student": STUDENT, "db_url": url}}
    notebook = executed_notebook()
    for step in (SaveAutoGrades(config=config), AssignLatePenalties(config=config)):
        notebook, resources = step.preprocess(notebook, resources)


def test_recording_matches_stock_nbgraders_steps_with_the_courses_late_plugin(tmp_path):
    stock, ours = make_course(tmp_path / "stock"), tmp_path / "ours"
    shutil.copytree(stock, ours)
    stock_config, our_config = load_nbgrader_config(stock), load_nbgrader_config(ours)
    for config in (stock_config, our_config):
        config.AssignLatePenalties.plugin_class = OnePointPerHour
    grade_with_stock_nbgrader(stock, stock_config)
    with GradebookWriter(ours, our_config) as writer:
        summary = writer.record_submission(LAB, STUDENT, HANDED_IN, {NOTEBOOK: executed_notebook()})
    expected = recorded(stock)
    assert expected["grades"] == {"t1": (2, False), "t2": (0, False), "written": (None, True)}
    assert expected["comments"] == {"answer": "No response.", "written": None}
    assert expected["penalty"] == 2 and expected["score"] == 2  # 90 minutes: 2 points, at most the score
    assert recorded(ours) == expected
    assert summary == {"score": 2.0, "max_score": 10.0, "seconds_late": 5400.0, "manual_pending": True}


def test_constructing_a_writer_opens_no_gradebook(tmp_path):
    folder = tmp_path / "course"
    folder.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    writer = GradebookWriter(folder)  # nbgrader's Gradebook would create gradebook.db on opening
    assert writer.gradebook is None and not (folder / "gradebook.db").exists()
    writer.close()  # closing a writer never opened is harmless



def test_the_late_penalty_is_bounded_by_the_score_just_written_not_one_read_before(tmp_path):
    """Commits lent to nbgrader only flush (issue 17: no expiry per cell), so the notebook's score, a
    column SQL computes from its grades, may sit stale in the session: RecordLatePenalty must read it
    afresh. Here the session reads it (0) before the grades (2 points) are written."""
    course = make_course(tmp_path / "ours")
    config = load_nbgrader_config(course)
    config.AssignLatePenalties.plugin_class = OnePointPerHour
    with GradebookWriter(course, config) as writer, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradebook = writer.gradebook
        gradebook.update_or_create_submission(LAB, STUDENT, timestamp=HANDED_IN)
        # What the session keeps is what is referenced: the submission and its notebook, read before grading.
        submission = gradebook.find_submission(LAB, STUDENT)
        held = gradebook.find_submission_notebook(NOTEBOOK, LAB, STUDENT)
        assert (submission.score, held.score, submission.total_seconds_late) == (0, 0, 5400)
        resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": LAB, "student": STUDENT},
                     "gradebook": _LentGradebook(gradebook)}
        notebook = executed_notebook()
        for step in (RecordAutoGrades(config=config), RecordLatePenalty(config=config)):
            notebook, resources = step.preprocess(notebook, resources)
        assert held.late_submission_penalty == 2 and held.score == 2
