"""The trusted side's link to nbgrader's gradebook: its one writer, and the snapshot workers read.

Scores must equal stock nbgrader's, so everything here goes through nbgrader's own objects: its
config file, ``CourseDirectory`` and ``Gradebook``, and its scoring function
``nbgrader.utils.determine_grade``. What changes is *how often* the database is touched: stock
nbgrader opens the gradebook and commits once per cell and per preprocessor; here one process
holds one session for the whole run and commits once per submission, which is also what makes a
killed run safe to resume (a submission's grades land in one transaction or not at all).
"""

from __future__ import annotations

import sqlite3
import warnings
from datetime import datetime
from pathlib import Path

from sqlalchemy import exc as sa_exc
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from traitlets.config import Config

from autograder.course import db_path, load_nbgrader_config, open_gradebook


def snapshot_gradebook(course_root: Path, destination: Path) -> str:
    """A consistent read-only copy of the gradebook for the grading workers; returns its URL.

    nbgrader's sanitizing preprocessors read the instructor's cells from the database. Giving the
    workers a snapshot keeps the real gradebook written by the parent process alone and spares
    it the workers' lock traffic.
    """
    source = sqlite3.connect(str(db_path(course_root)))
    target = sqlite3.connect(str(destination))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return f"sqlite:///{Path(destination).resolve()}"


class _FlushOnCommit:
    """The writer's session as lent to nbgrader's preprocessors: their ``commit`` only flushes.

    ``SaveAutoGrades`` commits after every cell; here a submission's grades land in one transaction
    (see the module docstring). A real commit would also expire every loaded object; that is not
    done per cell (it made each cell reload its rows): ``SaveAutoGrades`` reads only plain columns
    it writes itself, and :class:`RecordLatePenalty`, the one step that reads computed columns,
    expires the session once before it reads them.
    """

    def __init__(self, session):
        self._session = session

    def commit(self) -> None:
        self._session.flush()

    def __getattr__(self, name):
        return getattr(self._session, name)


class _LentGradebook:
    """An open ``Gradebook`` whose session defers commits (:class:`_FlushOnCommit`)."""

    def __init__(self, gradebook: Gradebook):
        self._gradebook = gradebook
        self.db = _FlushOnCommit(gradebook.db)

    def __getattr__(self, name):
        return getattr(self._gradebook, name)


def _ids(resources) -> tuple[str, str, str]:
    meta = resources["nbgrader"]
    return meta["notebook"], meta["assignment"], meta["student"]


class RecordAutoGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades`` (its ``_add_score`` and ``_add_comment``, cell by cell), on the
    writer's open gradebook (``resources["gradebook"]``) instead of a connection of its own."""

    def preprocess(self, nb, resources):
        self.notebook_id, self.assignment_id, self.student_id = _ids(resources)
        self.gradebook = resources["gradebook"]
        return super(SaveAutoGrades, self).preprocess(nb, resources)  # the cells, without SaveAutoGrades' connection


class RecordLatePenalty(AssignLatePenalties):
    """nbgrader's ``AssignLatePenalties`` on the writer's open gradebook: its configured
    ``plugin_class`` decides the penalty and its ``_check_late_penalty`` bounds it, as in stock nbgrader."""

    def preprocess(self, nb, resources):
        notebook_id, assignment_id, student_id = _ids(resources)
        gradebook = resources["gradebook"]
        gradebook.db.flush()  # nothing unflushed is lost by the expiry below
        gradebook.db.expire_all()  # the notebook's score is computed by SQL from the grades just written
        self.init_plugin()
        submission = gradebook.find_submission(assignment_id, student_id)
        notebook = gradebook.find_submission_notebook(notebook_id, assignment_id, student_id)
        notebook.late_submission_penalty = None
        if submission.total_seconds_late > 0:
            penalty = self.plugin_inst.late_submission_penalty(student_id, notebook.score,
                                                               submission.total_seconds_late)
            if penalty is not None:
                notebook.late_submission_penalty = self._check_late_penalty(notebook, penalty)
        return nb, resources


class GradebookWriter:
    """One open nbgrader gradebook session, used by the grading parent process only.

    Use it as a context manager: the constructor only stores where the course is; entering reads
    the course's configuration (unless given) and opens the gradebook, leaving closes it.
    """

    def __init__(self, course_root: Path, config: Config | None = None):
        self.course_root = Path(course_root)
        self.config = config
        self.gradebook: Gradebook | None = None

    def open(self) -> GradebookWriter:
        self.config = self.config or load_nbgrader_config(self.course_root)
        self.gradebook = open_gradebook(self.course_root, self.config)
        return self

    def close(self) -> None:
        if self.gradebook is not None:
            self.gradebook.close()
            self.gradebook = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def has_assignment(self, lab_id: str) -> bool:
        try:
            self.gradebook.find_assignment(lab_id)
            return True
        except MissingEntry:
            return False

    def graded_students(self, lab_id: str) -> set[str]:
        """Learners who have a submission of ``lab_id`` in the gradebook."""
        return {submission.student.id for submission in self.gradebook.find_assignment(lab_id).submissions}

    def assignment_notebooks(self, lab_id: str) -> list[str]:
        return [nb.name for nb in self.gradebook.find_assignment(lab_id).notebooks]

    def ensure_student(self, student_id: str, **fields) -> None:
        """Create the learner if needed (as ``nbgrader autograde`` does), keeping known details."""
        fields = {k: v for k, v in fields.items() if v}
        try:
            student = self.gradebook.find_student(student_id)
        except MissingEntry:
            self.gradebook.add_student(student_id, **fields)
            return
        changed = False
        for key, value in fields.items():
            if getattr(student, key) != value:
                setattr(student, key, value)
                changed = True
        if changed:
            self.gradebook.db.commit()

    def record_submission(
        self,
        lab_id: str,
        student_id: str,
        timestamp: datetime | None,
        graded_notebooks: dict,
        missing_notebooks: list[str] = (),
    ) -> dict:
        """Write one submission's automatic grades in one transaction, through nbgrader's own steps.

        ``graded_notebooks`` maps a notebook name to its executed notebook (``None`` when it could
        not be run: its grades stay unset and need a person, as with stock nbgrader). As
        ``nbgrader autograde`` does: the submission is created or updated with its timestamp
        (``Autograde.init_assignment``), missing notebooks score 0, then each notebook goes through
        ``SaveAutoGrades`` and ``AssignLatePenalties`` (:class:`RecordAutoGrades`,
        :class:`RecordLatePenalty`), with a single commit at the end instead of one per cell.
        Returns the submission's score, max score, lateness and whether manual grading is pending.
        """
        with warnings.catch_warnings():
            # nbgrader's own add_submission trips SQLAlchemy's autoflush warnings; they are harmless.
            warnings.simplefilter("ignore", category=sa_exc.SAWarning)
            when = {"timestamp": timestamp} if timestamp else {}
            self.gradebook.update_or_create_submission(lab_id, student_id, **when)
            self._record_grades(lab_id, student_id, graded_notebooks, missing_notebooks)
        submission = self.gradebook.find_submission(lab_id, student_id)
        return {
            "score": float(submission.score or 0),
            "max_score": float(submission.max_score or 0),
            "seconds_late": float(submission.total_seconds_late or 0),
            "manual_pending": bool(submission.needs_manual_grade),
        }

    def _record_grades(self, lab_id: str, student_id: str, graded_notebooks: dict, missing_notebooks) -> None:
        db, lent = self.gradebook.db, _LentGradebook(self.gradebook)
        steps = (RecordAutoGrades(config=self.config), RecordLatePenalty(config=self.config))
        try:
            for name in missing_notebooks:  # Autograde.init_assignment: a notebook not handed in scores 0
                for grade in self.gradebook.find_submission_notebook(name, lab_id, student_id).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            for name, notebook in graded_notebooks.items():
                if notebook is None:
                    continue
                resources = {"nbgrader": {"notebook": name, "assignment": lab_id, "student": student_id},
                             "gradebook": lent}
                for step in steps:
                    notebook, resources = step.preprocess(notebook, resources)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        db.expire_all()

    def checks(self, lab_id: str, student_id: str) -> list[dict]:
        """Each graded cell's id, score and max score for one submission, in notebook order."""
        found = []
        submission = self.gradebook.find_submission(lab_id, student_id)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                found.append(
                    {
                        "notebook": notebook.name,
                        "grade_id": grade.name,
                        "score": None if grade.score is None else float(grade.score),
                        "max_score": float(grade.max_score),
                        "auto": grade.auto_score is not None,
                    }
                )
        return found
