"""Read the cohort from nbgrader's gradebook and the grading outcomes: reading only, never writing.

The gradebook is the truth for scores, lateness and manual grading (an instructor's marks made in
formgrader later count); ``outcomes.json`` says why a submission has no score and whether a person
must look at it (see autograder/grading/outcomes.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from autograder.curriculum import Curriculum, Lab, load_curriculum
from autograder.course import db_path, open_gradebook
from autograder.grading.outcomes import Outcome, load_outcomes
from autograder.results.model import (
    CELL_COLUMNS, NOT_GRADED, NOT_SUBMITTED, Cohort, LabResult, NothingGraded,
)
from autograder.roster import Learner


def load_cohort(course: Curriculum | Path | str, outcomes: list[Outcome] | None = None,
                now: datetime | None = None) -> Cohort:
    """The cohort of the course (a curriculum or its folder), with its outcomes unless given.

    ``now`` (default: the current time) decides which missing work is overdue: a lab with no
    submission and no outcome whose due date has passed. Without a due date, nothing is overdue.
    """
    curriculum = course if isinstance(course, Curriculum) else load_curriculum(course)
    root = Path(curriculum.root)
    path = db_path(root)
    if not path.exists():  # opening it would create an empty one
        raise NothingGraded(
            f"No {path.name} in {path.parent}: nothing has been released or graded in this course yet. "
            "Run `autograder release`, then `autograder import` and `autograder grade` first (or run the demo)."
        )
    recorded = {outcome.key: outcome for outcome in (load_outcomes(root) if outcomes is None else outcomes)}
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)  # nbgrader: naive UTC
    with open_gradebook(root) as gradebook:
        learners = sorted((_learner(student) for student in gradebook.students),
                          key=lambda learner: ((learner.name or learner.id).lower(), learner.id.lower()))
        assignments = {assignment.name: assignment for assignment in gradebook.assignments}
        released = [lab for lab in curriculum.ready_labs if lab.id in assignments]
        results, cells = {}, []
        for lab in released:
            submissions = {submission.student.id: submission for submission in assignments[lab.id].submissions}
            for learner in learners:
                submission = submissions.get(learner.id)
                results[(learner.id, lab.id)] = _result(learner, lab, assignments[lab.id], submission,
                                                        recorded.get((learner.id, lab.id)), moment)
                cells += _cells(learner, lab, submission)
        labs = pd.DataFrame([_lab_record(lab, assignments.get(lab.id)) for lab in curriculum.labs])
    cells_frame = pd.DataFrame(cells, columns=CELL_COLUMNS)
    cells_frame["share"] = (cells_frame["score"] / cells_frame["max_score"]).where(cells_frame["max_score"] > 0)
    return Cohort(curriculum, learners, released, results, labs, cells_frame)


def _learner(student) -> Learner:
    return Learner(student.id, " ".join(part for part in (student.first_name, student.last_name) if part),
                   student.email or "")


def _result(learner: Learner, lab: Lab, assignment, submission, outcome: Outcome | None,
            moment: datetime) -> LabResult:
    """One learner's :class:`LabResult`: the one place late, status and score are decided."""
    max_score = float(assignment.max_score or 0)
    status = outcome.status if outcome else (NOT_GRADED if submission else NOT_SUBMITTED)
    verdict = {"needs_review": bool(outcome and outcome.needs_review), "reason": outcome.reason if outcome else "",
               "duedate": assignment.duedate}
    if submission is None:  # nothing in the gradebook: only the outcome (if any) knows about it
        return LabResult(learner, lab, status, False, None, max_score,
                         late=bool(outcome and outcome.late), seconds_late=outcome.seconds_late if outcome else 0.0,
                         overdue=outcome is None and assignment.duedate is not None and assignment.duedate < moment,
                         **verdict)
    seconds_late = float(submission.total_seconds_late or 0)  # nbgrader's: extensions and due-date changes count
    return LabResult(learner, lab, status, True, float(submission.score or 0), max_score,
                     late=seconds_late > 0, seconds_late=seconds_late, timestamp=submission.timestamp,
                     awaiting_manual=sum(grade.needs_manual_grade for notebook in submission.notebooks
                                         for grade in notebook.grades), **verdict)


def _cells(learner: Learner, lab: Lab, submission) -> list[dict]:
    if submission is None:
        return []
    return [{"student": learner.id, "lab": lab.id, "notebook": notebook.name, "cell": grade.name,
             "cell_type": grade.cell_type, "score": float(grade.score or 0), "max_score": float(grade.max_score or 0),
             "needs_manual_grade": bool(grade.needs_manual_grade), "auto": grade.auto_score is not None}
            for notebook in submission.notebooks for grade in notebook.grades]


def _lab_record(lab: Lab, assignment) -> dict:
    return {"lab": lab.id, "title": lab.title, "status": lab.status, "in_gradebook": assignment is not None,
            "max_score": float(assignment.max_score) if assignment is not None else float(lab.points or 0),
            "pass_mark": lab.pass_mark, "duedate": assignment.duedate if assignment is not None else None}
