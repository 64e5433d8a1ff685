"""One read of the cohort for feedback, export and status: who, which lab, what score, what status.

Scores come from nbgrader's gradebook (the truth, including an instructor's manual marks made in
formgrader later); statuses and reasons come from ``outcomes.json``. Reading only, never writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.api import MissingEntry

from autograder.curriculum import Curriculum, CurriculumError, Lab
from autograder.gradebook import db_path, open_gradebook
from autograder.outcomes import Outcome, outcomes_by_key

NOT_SUBMITTED = "not submitted"


class NothingGraded(CurriculumError):
    """The course has no gradebook, or no lab in it: there is nothing to show or export yet."""


def gradebook_missing(curriculum: Curriculum) -> NothingGraded:
    path = db_path(curriculum.root)
    return NothingGraded(f"No {path.name} in {path.parent}: nothing has been released or graded in this course yet. "
                         "Run `autograder release`, then `autograder import` and `autograder grade` first.")


def require_labs(curriculum: Curriculum, labs: list[Lab]) -> None:
    """Refuse to report on a gradebook that holds no lab: an empty table would look like a result."""
    if not labs:
        raise NothingGraded(
            f"{db_path(curriculum.root)} holds no lab: nothing was released into it (a first run that failed "
            "leaves it so). Run `autograder release LAB`, then `autograder grade LAB`; nothing was written."
        )


@dataclass
class Learner:
    id: str
    name: str
    email: str


@dataclass
class Cell:
    """One learner's result on one lab."""

    learner: Learner
    lab: Lab
    status: str
    score: float | None
    max_score: float
    timestamp: datetime | None = None
    outcome: Outcome | None = None

    @property
    def late(self) -> bool:
        return bool(self.outcome and self.outcome.late)

    @property
    def needs_review(self) -> bool:
        return bool(self.outcome and self.outcome.needs_review)

    @property
    def manual_pending(self) -> bool:
        return bool(self.outcome and self.outcome.manual_pending)

    @property
    def reason(self) -> str:
        return self.outcome.reason if self.outcome else ""


def released_labs(curriculum: Curriculum, gradebook) -> list[Lab]:
    labs = []
    for lab in curriculum.ready_labs:
        try:
            gradebook.find_assignment(lab.id)
            labs.append(lab)
        except MissingEntry:
            pass
    return labs


def read_cohort(curriculum: Curriculum) -> tuple[list[Learner], list[Lab], dict[tuple[str, str], Cell]]:
    root = Path(curriculum.root)
    if not db_path(root).exists():  # opening it would create an empty one
        raise gradebook_missing(curriculum)
    outcomes = outcomes_by_key(root)
    with open_gradebook(root) as gb:
        labs = released_labs(curriculum, gb)
        learners = [
            Learner(s.id, " ".join(p for p in (s.first_name, s.last_name) if p), s.email or "")
            for s in sorted(gb.students, key=lambda s: s.id)
        ]
        by_id = {learner.id: learner for learner in learners}
        cells: dict[tuple[str, str], Cell] = {}
        for lab in labs:
            assignment = gb.find_assignment(lab.id)
            max_score = float(assignment.max_score or 0)
            for submission in assignment.submissions:
                student = submission.student.id
                outcome = outcomes.get((student, lab.id))
                status = outcome.status if outcome else "submitted, not graded"
                cells[(student, lab.id)] = Cell(
                    by_id[student], lab, status,
                    float(submission.score or 0), max_score, submission.timestamp, outcome,
                )
            for learner in learners:
                cells.setdefault((learner.id, lab.id), Cell(learner, lab, NOT_SUBMITTED, None, max_score))
    return learners, labs, cells
