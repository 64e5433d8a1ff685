"""The cohort's results as one set of typed rows and the pandas tables made from them.

A :class:`LabResult` is one learner's result on one released lab, and every instructor-side view
(feedback, export, status, report, certify) reads the same rows: what is late, under review,
awaiting manual grading, or passed is decided once, here, so two outputs of one course cannot
contradict each other. The tables (``Cohort.work`` and friends) are built from those rows, for the
views that count and group.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import pandas as pd

from autograder.curriculum import Curriculum, CurriculumError, Lab
from autograder.course import db_path
from autograder.roster import Learner

NOT_SUBMITTED = "not submitted"
NOT_GRADED = "submitted, not graded"  # in the gradebook, but no outcome from `autograder grade`
DEFAULT_PASS_MARK = 0.7

SHARE_NOTE = (
    "A lab's share is the points scored divided by the lab's maximum points in the gradebook. "
    "Manually graded reflection cells count 0 until an instructor grades them."
)


class NothingGraded(CurriculumError):
    """The course has no gradebook, or no lab in it: there is nothing to show or export yet."""


@dataclass(frozen=True)
class LabResult:
    """One learner's result on one released lab.

    ``submitted`` means nbgrader's gradebook holds the submission, and so a score (``score`` is
    None otherwise). Scores, lateness and pending manual grades are nbgrader's, read live, so an
    extension, a moved due date or marks given in formgrader after grading count; the status,
    the reason and ``needs_review`` are the grading outcome's (``outcomes.json``), which is also all
    there is for a submission whose grades never reached the gradebook.
    """

    learner: Learner
    lab: Lab
    status: str
    submitted: bool
    score: float | None
    max_score: float
    late: bool = False
    seconds_late: float = 0.0
    timestamp: datetime | None = None
    duedate: datetime | None = None
    overdue: bool = False  # no submission, and its due date has passed
    needs_review: bool = False
    reason: str = ""
    awaiting_manual: int = 0  # grade cells still waiting for an instructor's marks

    @property
    def share(self) -> float:
        """Points over the lab's maximum (NaN without a submission)."""
        if self.score is None:
            return float("nan")
        return self.score / self.max_score if self.max_score else 0.0

    @property
    def passed(self) -> bool:
        mark = self.lab.pass_mark or DEFAULT_PASS_MARK
        return self.submitted and self.share >= mark - 1e-9

    @property
    def manual_pending(self) -> bool:
        return self.awaiting_manual > 0

    @property
    def review_reason(self) -> str:
        return self.reason if self.needs_review else ""

    def record(self) -> dict:
        """This row as one line of ``Cohort.work``."""
        row = {key: value for key, value in asdict(self).items() if key not in ("learner", "lab")}
        row.update(student=self.learner.id, lab=self.lab.id, share=self.share, passed=self.passed,
                   manual_pending=self.manual_pending, review_reason=self.review_reason)
        return row


WORK_COLUMNS = ["student", "lab", "status", "submitted", "duedate", "overdue", "score", "max_score", "share",
                "passed", "late", "seconds_late", "timestamp", "needs_review", "reason", "review_reason",
                "awaiting_manual", "manual_pending"]
CELL_COLUMNS = ["student", "lab", "notebook", "cell", "cell_type", "score", "max_score", "share",
                "needs_manual_grade", "auto"]


@dataclass
class Cohort:
    """Every learner's result on every released lab: typed rows, and the same as tables.

    - ``learners`` (by name, then id) and ``released`` (the ready labs in the gradebook, in
      curriculum order); ``result(student, lab)`` gives one :class:`LabResult`;
    - ``students``: student, name (the id when the gradebook has none), email;
    - ``labs``: every lab of curriculum.yml: lab, title, status, in_gradebook, max_score, pass_mark, duedate;
    - ``work``: one row per learner and released lab, the columns of :meth:`LabResult.record`;
    - ``cells``: one row per graded cell of a submission: notebook, cell, cell_type, score,
      max_score, share, needs_manual_grade, auto.
    """

    curriculum: Curriculum
    learners: list[Learner]
    released: list[Lab]
    results: dict[tuple[str, str], LabResult]
    labs: pd.DataFrame
    cells: pd.DataFrame

    def __post_init__(self):
        self.students = pd.DataFrame(
            [{"student": learner.id, "name": learner.name or learner.id, "email": learner.email}
             for learner in self.learners], columns=["student", "name", "email"])
        self.work = pd.DataFrame([self.result(learner.id, lab.id).record()
                                  for learner in self.learners for lab in self.released], columns=WORK_COLUMNS)

    def result(self, student: str, lab: str) -> LabResult:
        return self.results[(student, lab)]

    def name(self, student: str) -> str:
        found = next((learner for learner in self.learners if learner.id == student), None)
        return (found.name or found.id) if found else student

    def lab_row(self, student: str, lab: str):
        """The ``work`` row of one learner and lab (None if the lab is not in the gradebook)."""
        rows = self.work[(self.work["student"] == student) & (self.work["lab"] == lab)]
        return rows.iloc[0] if len(rows) else None

    def require_released(self) -> None:
        """Refuse to show a gradebook that holds no lab: an empty table would look like a result."""
        if not self.released:
            raise NothingGraded(
                f"{db_path(self.curriculum.root)} holds no lab: nothing was released into it (a first "
                "run that failed leaves it so). Run `autograder release LAB`, then `autograder grade LAB`; "
                "nothing was written."
            )
