"""The lab QA harness's shared machinery: a throwaway copy of the course, real nbgrader runs in it.

Every check runs stock nbgrader (`python -m nbgrader ...`) in a temporary course folder, so what
the harness proves is what an instructor's nbgrader will do with the lab. Labs are prepared once per
test session and two at a time (the CI machine has two cores), because generating and grading a lab
is the slow part of the suite.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.curriculum import Curriculum, Lab, load_curriculum
from autograder.samples import Variant, exercises, lab_variants

ROOT = Path(__file__).resolve().parents[1]
CURRICULUM: Curriculum = load_curriculum(ROOT)
READY_LABS: tuple[Lab, ...] = CURRICULUM.ready_labs
COURSE_FILES = ("nbgrader_config.py", "curriculum.yml")


def run_nbgrader(course: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the stock nbgrader CLI in ``course`` and return the finished process (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course, capture_output=True, text=True, timeout=timeout,
    )


def copy_course(lab: Lab, destination: Path) -> Path:
    """A minimal course folder holding only ``lab``'s source: what nbgrader needs and nothing else."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        shutil.copy2(ROOT / name, destination / name)
    shutil.copytree(ROOT / "source" / lab.id, destination / "source" / lab.id)
    return destination


@dataclass
class LabRun:
    """One lab generated and graded for real in a temporary course folder."""

    lab: Lab
    course: Path
    generate_log: str = ""
    autograde_log: str = ""
    variants: list[Variant] = field(default_factory=list)
    # variant name -> grade_id -> (score, max_score); scores of autograded test cells only.
    scores: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    exercises: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def release_dir(self) -> Path:
        return self.course / "release" / self.lab.id

    def exercise_score(self, variant: str, answer_id: str) -> tuple[float, float]:
        cells = [self.scores[variant][test_id] for test_id in self.exercises[answer_id]]
        return sum(score for score, _ in cells), sum(maximum for _, maximum in cells)


def _read_scores(course: Path, lab: Lab, students: list[str], test_ids: set[str]):
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            try:
                notebook = gradebook.find_submission_notebook(lab.notebook_stem, lab.id, student)
            except Exception:  # nbgrader raises MissingEntry: the submission failed before scoring
                scores[student] = {}
                continue
            scores[student] = {
                grade.name: (grade.score or 0.0, grade.max_score)
                for grade in notebook.grades if grade.name in test_ids
            }
    return scores


def prepare_lab(lab: Lab, workspace: Path) -> LabRun:
    """Generate the release with nbgrader, then autograde every sample submission of the lab."""
    started = time.perf_counter()
    run = LabRun(lab=lab, course=copy_course(lab, workspace / lab.id))
    generated = run_nbgrader(run.course, "generate_assignment", lab.id, "--force")
    run.generate_log = generated.stdout + generated.stderr
    if generated.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {lab.id} failed:\n{run.generate_log}")
    release = nbformat.read(run.release_dir / lab.notebook, as_version=4)
    run.exercises = exercises(release)
    run.variants = lab_variants(CURRICULUM, lab, release_notebook=release)
    for variant in run.variants:
        target = run.course / "submitted" / variant.name / lab.id / lab.notebook
        target.parent.mkdir(parents=True)
        nbformat.write(variant.notebook, target)
    graded = run_nbgrader(run.course, "autograde", lab.id, "--create")
    run.autograde_log = graded.stdout + graded.stderr
    test_ids = {test_id for tests in run.exercises.values() for test_id in tests}
    run.scores = _read_scores(run.course, lab, [v.name for v in run.variants], test_ids)
    run.seconds = time.perf_counter() - started
    return run


# Every lab prepared in this session, for the report printed at the end of the run.
PREPARED: dict[str, LabRun | Exception] = {}


def _prepare_or_error(lab: Lab, workspace: Path) -> LabRun | Exception:
    try:
        return prepare_lab(lab, workspace)
    except Exception as error:  # reported by each of that lab's tests, the other labs go on
        return error


def prepare_labs(labs: list[Lab], workers: int = 2) -> dict[str, LabRun | Exception]:
    """Prepare several labs at once, each in its own course folder (nbgrader itself is serial)."""
    workspace = Path(tempfile.mkdtemp(prefix="lab-harness-"))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda lab: _prepare_or_error(lab, workspace), labs))
    PREPARED.update({lab.id: result for lab, result in zip(labs, results)})
    return dict(PREPARED)
