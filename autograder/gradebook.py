"""The trusted side's link to nbgrader: the course's config, its folders, and the gradebook's one writer.

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

from nbgrader import utils
from sqlalchemy import exc as sa_exc
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import LateSubmissionPlugin
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


def load_nbgrader_config(course_root: Path) -> Config:
    """The course's ``nbgrader_config.py`` with the gradebook's URL made absolute.

    The file says ``sqlite:///gradebook.db`` (relative, as nbgrader's CLI expects, since it runs in
    the course folder); this process may run anywhere, so the path is anchored to the course root.
    """
    course_root = Path(course_root).resolve()
    config = Config()
    if (course_root / CONFIG_FILE).exists():
        config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(course_root)).load_config())
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = absolute_db_url(course_root, config)
    return config


def absolute_db_url(course_root: Path, config: Config | None = None) -> str:
    url = "sqlite:///gradebook.db"
    if config is not None and "db_url" in config.CourseDirectory:
        url = config.CourseDirectory.db_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str((Path(course_root) / url[len(prefix):]).resolve())
    return url


def db_path(course_root: Path) -> Path:
    url = absolute_db_url(course_root, load_nbgrader_config(course_root))
    return Path(url[len("sqlite:///"):])


def course_directory(course_root: Path, config: Config | None = None) -> CourseDirectory:
    return CourseDirectory(config=config or load_nbgrader_config(course_root))


def open_gradebook(course_root: Path, config: Config | None = None) -> Gradebook:
    config = config or load_nbgrader_config(course_root)
    return Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id or "default_course")


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


class GradebookWriter:
    """One open nbgrader gradebook session, used by the grading parent process only."""

    def __init__(self, course_root: Path, config: Config | None = None):
        self.config = config or load_nbgrader_config(course_root)
        self.gradebook = open_gradebook(course_root, self.config)
        self.late_plugin = LateSubmissionPlugin(config=self.config)

    def close(self) -> None:
        self.gradebook.close()

    def __enter__(self):
        return self

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
        """Write one submission's automatic grades in one transaction, the way nbgrader does.

        ``graded_notebooks`` maps a notebook name to its executed notebook (``None`` when it could
        not be run: its grades stay unset and need a person, as with stock nbgrader). The steps
        mirror ``Autograde.init_assignment`` (create the submission, zero missing notebooks),
        ``SaveAutoGrades`` (``determine_grade`` per grade cell, "No response." comments) and
        ``AssignLatePenalties``, with a single commit at the end instead of one per cell.
        Returns the submission's score, max score, lateness and whether manual grading is pending.
        """
        gb = self.gradebook
        db = gb.db
        with warnings.catch_warnings():
            # nbgrader's own add_submission trips SQLAlchemy's autoflush warnings; they are harmless.
            warnings.simplefilter("ignore", category=sa_exc.SAWarning)
            return self._record_submission(gb, db, lab_id, student_id, timestamp, graded_notebooks,
                                           missing_notebooks)

    def _record_submission(self, gb, db, lab_id, student_id, timestamp, graded_notebooks, missing_notebooks):
        try:
            try:
                submission = gb.find_submission(lab_id, student_id)
                if timestamp:
                    submission.timestamp = utils.parse_utc(timestamp)
            except MissingEntry:
                submission = gb.add_submission(
                    lab_id, student_id, **({"timestamp": timestamp} if timestamp else {})
                )
            for name in missing_notebooks:
                for grade in gb.find_submission_notebook(name, lab_id, student_id).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            for name, notebook in graded_notebooks.items():
                if notebook is None:
                    continue
                for cell in notebook.cells:
                    if utils.is_grade(cell):
                        grade = gb.find_grade(cell.metadata.nbgrader["grade_id"], name, lab_id, student_id)
                        grade.auto_score, _ = utils.determine_grade(cell)
                        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
                    if utils.is_solution(cell) or utils.is_task(cell):
                        comment = gb.find_comment(cell.metadata.nbgrader["grade_id"], name, lab_id, student_id)
                        unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
                        comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None
                db.flush()
                submitted_nb = gb.find_submission_notebook(name, lab_id, student_id)
                submitted_nb.late_submission_penalty = None
                seconds_late = submission.total_seconds_late
                if seconds_late > 0:
                    penalty = self.late_plugin.late_submission_penalty(
                        student_id, submitted_nb.score, seconds_late
                    )
                    if penalty is not None:
                        submitted_nb.late_submission_penalty = min(max(penalty, 0), submitted_nb.score)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        db.expire_all()
        submission = gb.find_submission(lab_id, student_id)
        return {
            "score": float(submission.score or 0),
            "max_score": float(submission.max_score or 0),
            "seconds_late": float(submission.total_seconds_late or 0),
            "manual_pending": bool(submission.needs_manual_grade),
        }

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


def read_timestamp(folder: Path) -> datetime | None:
    """A submission's ``timestamp.txt`` as nbgrader reads it (None if absent or empty)."""
    path = Path(folder) / "timestamp.txt"
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8").strip()
    return utils.parse_utc(text) if text else None
