"""Read the cohort's grades from nbgrader's gradebook into pandas tables.

One place turns ``gradebook.db`` (nbgrader's SQLite database in the course folder) and the grading
outcomes into plain tables that certificates and the cohort report share, so both judge a learner
from the same numbers.

A lab's share is the points a learner scored divided by the lab's maximum points in the gradebook.
Manually graded cells (the written reflections) score 0 until an instructor grades them, so a share
can rise after manual grading; it never counts points the learner has not been given.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from autograder.curriculum import Curriculum, CurriculumError, load_curriculum
from autograder.gradebook import db_path as gradebook_path
from autograder.gradebook import open_gradebook as open_course_gradebook


SHARE_NOTE = (
    "A lab's share is the points scored divided by the lab's maximum points in the gradebook. "
    "Manually graded reflection cells count 0 until an instructor grades them."
)


class GradebookMissing(CurriculumError):
    """The course folder has no gradebook yet (nothing has been released or graded)."""


@contextmanager
def open_gradebook(curriculum: Curriculum):
    """The course's gradebook (where nbgrader_config.py says), or a clear error if there is none yet."""
    path = gradebook_path(curriculum.root)
    if not path.exists():
        raise GradebookMissing(
            f"No {path.name} in {path.parent}: nothing has been released or graded in this course yet. "
            "Run `autograder release`, then `autograder import` and `autograder grade` first (or run the demo)."
        )
    gradebook = open_course_gradebook(curriculum.root)
    try:
        yield gradebook
    finally:
        gradebook.close()


def read_outcomes(course_root: Path) -> list:
    """The grading outcomes recorded by ``autograder.outcomes``; none if that module is not installed."""
    try:
        from autograder import outcomes
    except ModuleNotFoundError as error:
        if error.name == "autograder.outcomes":
            return []
        raise
    return list(outcomes.load_outcomes(course_root))


OUTCOME_COLUMNS = ["student", "lab", "status", "reason", "needs_review", "late"]


def outcomes_table(outcomes: list) -> pd.DataFrame:
    rows = [
        {
            "student": str(o.student),
            "lab": str(o.lab),
            "status": str(getattr(o, "status", "") or ""),
            "reason": str(getattr(o, "reason", "") or ""),
            "needs_review": bool(getattr(o, "needs_review", False)),
            "late": bool(getattr(o, "late", False)),
        }
        for o in outcomes
    ]
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


@dataclass
class Cohort:
    """Everything the certificates and the report read, as tables.

    - ``students``: student, name, email
    - ``labs``: lab, title, status (ready/planned), in_gradebook, max_score, pass_mark, duedate
    - ``work``: one row per (student, ready lab in the gradebook): submitted, duedate, overdue (not
      submitted and past due), score, max_score, share, passed, late, seconds_late, timestamp,
      needs_review, review_reason, awaiting_manual, status
    - ``cells``: one row per (student, lab, graded cell): cell, cell_type, score, max_score, share,
      needs_manual_grade
    - ``outcomes``: the grading outcomes as recorded (may be empty)
    """

    curriculum: Curriculum
    students: pd.DataFrame
    labs: pd.DataFrame
    work: pd.DataFrame
    cells: pd.DataFrame
    outcomes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OUTCOME_COLUMNS))

    def name(self, student: str) -> str:
        row = self.students.loc[self.students["student"] == student]
        return row["name"].iloc[0] if len(row) else student

    def lab_row(self, student: str, lab: str):
        rows = self.work[(self.work["student"] == student) & (self.work["lab"] == lab)]
        return rows.iloc[0] if len(rows) else None


def _full_name(student) -> str:
    parts = [part for part in (student.first_name, student.last_name) if part]
    return " ".join(parts) if parts else student.id


def load_cohort(course_root: Path | str, outcomes: list | None = None, now: datetime | None = None) -> Cohort:
    """Read the gradebook of the course at ``course_root`` (and its outcomes, unless given).

    ``now`` (default: the current time) decides which missing work is overdue: a lab with no
    submission whose due date has passed. Without a due date, missing work is never overdue.
    """
    curriculum = load_curriculum(course_root)
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)  # nbgrader: naive UTC
    outcome_list = read_outcomes(curriculum.root) if outcomes is None else outcomes
    outcome_frame = outcomes_table(outcome_list)
    students, labs, work, cells = [], [], [], []
    with open_gradebook(curriculum) as gradebook:
        known = {assignment.name: assignment for assignment in gradebook.assignments}
        for student in gradebook.students:
            students.append({"student": student.id, "name": _full_name(student), "email": student.email or ""})
        for lab in curriculum.labs:
            assignment = known.get(lab.id)
            labs.append({
                "lab": lab.id, "title": lab.title, "status": lab.status,
                "in_gradebook": assignment is not None,
                "max_score": float(assignment.max_score) if assignment is not None else float(lab.points or 0),
                "pass_mark": lab.pass_mark,
                "duedate": assignment.duedate if assignment is not None else None,
            })
            if assignment is None or not lab.ready:
                continue
            max_score = float(assignment.max_score or 0)
            submissions = {sub.student_id: sub for sub in gradebook.assignment_submissions(lab.id)}
            for student in students:
                sub = submissions.get(student["student"])
                due = assignment.duedate
                row = {"student": student["student"], "lab": lab.id, "submitted": sub is not None,
                       "duedate": due, "overdue": sub is None and due is not None and due < moment,
                       "score": 0.0, "max_score": max_score, "share": float("nan"), "seconds_late": 0.0,
                       "timestamp": None, "awaiting_manual": 0}
                if sub is not None:
                    row["score"] = float(sub.score or 0)
                    row["share"] = row["score"] / max_score if max_score else 0.0
                    row["seconds_late"] = float(sub.total_seconds_late)
                    row["timestamp"] = sub.timestamp
                    for notebook in sub.notebooks:
                        for grade in notebook.grades:
                            cells.append({
                                "student": student["student"], "lab": lab.id, "notebook": notebook.name,
                                "cell": grade.name, "cell_type": grade.cell_type,
                                "score": float(grade.score or 0), "max_score": float(grade.max_score or 0),
                                "needs_manual_grade": bool(grade.needs_manual_grade),
                                "auto": grade.auto_score is not None,
                            })
                            if grade.needs_manual_grade:
                                row["awaiting_manual"] += 1
                work.append(row)
    students_frame = (pd.DataFrame(students, columns=["student", "name", "email"])
                      .sort_values(["name", "student"], key=lambda column: column.str.lower(), ignore_index=True))
    labs_frame = pd.DataFrame(labs)
    work_frame = pd.DataFrame(work, columns=[
        "student", "lab", "submitted", "duedate", "overdue", "score", "max_score", "share", "seconds_late", "timestamp",
        "awaiting_manual"])
    cells_frame = pd.DataFrame(cells, columns=[
        "student", "lab", "notebook", "cell", "cell_type", "score", "max_score", "needs_manual_grade", "auto"])
    cells_frame["share"] = (cells_frame["score"] / cells_frame["max_score"]).where(cells_frame["max_score"] > 0)
    _merge_outcomes(curriculum, work_frame, outcome_frame)
    return Cohort(curriculum, students_frame, labs_frame, work_frame, cells_frame, outcome_frame)


def _merge_outcomes(curriculum: Curriculum, work: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    """Add pass, late, review and status columns to ``work`` (in place)."""
    pass_marks = {lab.id: lab.pass_mark or 0.7 for lab in curriculum.labs}
    work["passed"] = [
        bool(submitted and share >= pass_marks[lab] - 1e-9)
        for submitted, share, lab in zip(work["submitted"], work["share"].fillna(0), work["lab"])
    ]
    work["late"] = work["seconds_late"] > 0
    work["needs_review"] = False
    work["review_reason"] = ""
    work["status"] = ""
    if outcomes.empty or work.empty:
        return
    latest = outcomes.drop_duplicates(["student", "lab"], keep="last").set_index(["student", "lab"])
    for index, row in work.iterrows():
        key = (row["student"], row["lab"])
        if key in latest.index:
            outcome = latest.loc[key]
            work.at[index, "needs_review"] = bool(outcome["needs_review"])
            work.at[index, "review_reason"] = outcome["reason"] if outcome["needs_review"] else ""
            work.at[index, "late"] = bool(row["late"] or outcome["late"])
            work.at[index, "status"] = outcome["status"]
