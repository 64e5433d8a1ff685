"""A small real cohort for the certificate and report tests: a throwaway course folder with a real
nbgrader gradebook, built through nbgrader's own ``Gradebook`` API (no kernels, no notebooks run).

Each ready lab gets one notebook with three autograded code cells and one manually graded written
reflection, whose points add up to the lab's ``points`` in curriculum.yml. ``set_result`` gives a
learner a lab share by scoring every cell at that share (the reflection too, unless ``reflection``
says it is still waiting for manual grading).
"""

from __future__ import annotations

import shutil
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import nbgrader.api
import nbgrader.dbutil
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from nbgrader.api import Gradebook
from sqlalchemy import create_engine

from autograder.curriculum import load_curriculum

ROOT = Path(__file__).resolve().parents[1]
DUE = datetime(2026, 11, 1, 12, 0, 0)


def cells_of(lab) -> list[tuple[str, str, float]]:
    """(cell name, cell type, max score) for a lab: three code tests and one written reflection."""
    reflection = 5.0
    code = (float(lab.points) - reflection) / 3
    return [(f"{lab.grade_prefix}-ex{i}-test", "code", code) for i in (1, 2, 3)] + [
        (f"{lab.grade_prefix}-reflection", "markdown", reflection)]


def make_course(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("curriculum.yml", "nbgrader_config.py"):
        shutil.copy2(ROOT / name, folder / name)
    curriculum = load_curriculum(folder)
    with gradebook(folder) as gb:
        for lab in curriculum.ready_labs:
            gb.add_assignment(lab.id, duedate=DUE)
            gb.add_notebook(lab.notebook_stem, lab.id)
            for name, cell_type, points in cells_of(lab):
                gb.add_grade_cell(name, lab.notebook_stem, lab.id, max_score=points, cell_type=cell_type)
    return folder


def _create_gradebook_file(path: Path) -> None:
    """An empty nbgrader gradebook at ``path``: nbgrader's own tables, stamped with the head revision
    of nbgrader's own schema migrations, as nbgrader's ``Gradebook`` stamps a new one.

    ``Gradebook`` learns that revision by running the ``alembic heads`` command in a subprocess, which
    takes seconds for every new gradebook; alembic's public API reads the same revision from
    nbgrader's migration scripts in-process. The file is then opened with nbgrader's ``Gradebook``
    like any existing gradebook, so nothing of nbgrader is patched or bypassed after this.
    """
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            nbgrader.api.Base.metadata.create_all(connection)
            MigrationContext.configure(connection).stamp(ScriptDirectory(nbgrader.dbutil.ALEMBIC_DIR), "head")
    finally:
        engine.dispose()


def gradebook(folder: Path) -> Gradebook:
    path = folder / "gradebook.db"
    if not path.exists():
        _create_gradebook_file(path)
    return Gradebook(f"sqlite:///{path}", course_id="ai-certification-labs")


def add_student(folder: Path, student: str, first: str, last: str) -> None:
    with gradebook(folder) as gb:
        gb.update_or_create_student(student, first_name=first, last_name=last)


def set_result(folder: Path, student: str, lab_id: str, share: float, *, late_hours: float = 0,
               reflection: str = "graded", per_cell: dict[str, float] | None = None) -> None:
    """Record a submission of ``lab_id`` by ``student`` scoring ``share`` of each cell's points.

    ``per_cell`` overrides the share for named cells (suffix match, e.g. {"ex2-test": 0}).
    ``reflection="pending"`` leaves the written reflection ungraded (scores 0, needs manual grade).
    """
    lab = load_curriculum(folder).lab(lab_id)
    with gradebook(folder) as gb:
        try:
            gb.find_submission(lab_id, student)
        except nbgrader.api.MissingEntry:
            with warnings.catch_warnings():  # nbgrader's own add_submission trips SQLAlchemy autoflush notices
                warnings.simplefilter("ignore")
                gb.add_submission(lab_id, student)
        submission = gb.find_submission(lab_id, student)
        submission.timestamp = DUE + (timedelta(hours=late_hours) if late_hours else timedelta(hours=-24))
        for name, cell_type, points in cells_of(lab):
            grade = gb.find_grade(name, lab.notebook_stem, lab_id, student)
            cell_share = share
            for suffix, value in (per_cell or {}).items():
                if name.endswith(suffix):
                    cell_share = value
            if cell_type == "code":
                grade.auto_score = points * cell_share
                grade.needs_manual_grade = False
            elif reflection == "pending":
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = None, None, True
            else:
                grade.manual_score = points * cell_share
                grade.needs_manual_grade = False
        gb.db.commit()


def sample_cohort(folder: Path) -> Path:
    """Five learners covering each certification case.

    ada: passes every practitioner lab (certified). ben: 55 % on 03 (not met). cam: passes, but 04 is
    under review (given through outcomes by the test). dee: never submitted 05 (missing), late on 02.
    eve: passes everything, 04's reflection not graded yet (still above 70 %).
    """
    make_course(folder)
    curriculum = load_curriculum(folder)
    people = {"ada": ("Ada", "Lovelace"), "ben": ("Ben", "Okafor"), "cam": ("Cam", "Nguyen"),
              "dee": ("Dee", "Ramos"), "eve": ("Eve", "Müller")}
    for student, (first, last) in people.items():
        add_student(folder, student, first, last)
    for lab in curriculum.ready_labs:
        set_result(folder, "ada", lab.id, 0.9)
        set_result(folder, "ben", lab.id, 0.55 if lab.id == "03-how-models-learn" else 0.8,
                   per_cell={"ex2-test": 0.0} if lab.id == "03-how-models-learn" else None)
        set_result(folder, "cam", lab.id, 0.85)
        if lab.id != "05-monitoring":
            set_result(folder, "dee", lab.id, 0.75, late_hours=30 if lab.id == "02-preparing-data" else 0)
        set_result(folder, "eve", lab.id, 1.0, reflection="pending" if lab.id == "04-checking-results" else "graded")
    return folder


_TEMPLATE: dict[str, Path] = {}


def cohort_copy(tmp_path_factory, destination: Path) -> Path:
    """A fresh copy of the sample cohort's course folder (built once per test session)."""
    if "course" not in _TEMPLATE:
        _TEMPLATE["course"] = sample_cohort(tmp_path_factory.mktemp("cohort-template") / "course")
    shutil.copytree(_TEMPLATE["course"], destination)
    return destination


def flag_for_review(folder: Path, student: str, lab_id: str, reason: str) -> None:
    """Record, through the grading outcomes module, that a person must look at this submission."""
    from autograder.grading.outcomes import NEEDS_REVIEW, Outcome, OutcomeStore
    OutcomeStore(folder).put(Outcome(student=student, lab=lab_id, status=NEEDS_REVIEW, reason=reason,
                                     needs_review=True))
